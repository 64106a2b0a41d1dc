"""The door controller's rules: keypad input, windows, access decisions and lock-out.

Pure functions over plain values: no database, no clock, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

DenyReason = Literal[
    "unknown_code", "outside_window", "revoked", "locked_out", "invalid_key", "wrong_door"
]
EventKind = Literal[
    "access_granted", "access_denied", "door_pulsed", "keypad_locked_out", "unlocked", "locked"
]

LOCKOUT_THRESHOLD = 5
"""Wrong codes within `FAILURE_WINDOW` that lock the keypad out."""

FAILURE_WINDOW = timedelta(minutes=5)
"""How far back wrong codes are counted."""

LOCKOUT_PERIOD = timedelta(minutes=5)
"""How long a keypad refuses everything once locked out (from the last wrong code)."""

MAX_WINDOWS = 500
"""Most windows one credential may hold (a club's season of weekly bookings)."""

VERSION_LIMIT = 2**63
"""Credential versions lie in `[0, VERSION_LIMIT)`: they are kept in a signed 64-bit column."""

_KEYPAD_CODE = re.compile(r"[0-9]{4,8}")
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Window:
    """A half-open time frame `[valid_from, valid_to)`."""

    valid_from: datetime
    valid_to: datetime

    def contains(self, moment: datetime) -> bool:
        """Returns whether `moment` lies in the window (valid at valid_from, not at valid_to)."""
        return self.valid_from <= moment < self.valid_to

    def overlaps(self, other: Window) -> bool:
        """Returns whether the two windows share at least one instant."""
        return self.valid_from < other.valid_to and other.valid_from < self.valid_to


@dataclass(frozen=True)
class CredentialCandidate:
    """A credential of the door whose code digest matched what was typed."""

    ref: str
    revoked: bool
    windows: Sequence[Window]


@dataclass(frozen=True)
class Decision:
    """The answer to one keypad entry: granted with a ref, or refused with a reason."""

    granted: bool
    ref: str | None = None
    reason: DenyReason | None = None


def normalise_keypad_code(raw: str) -> str | None:
    """Returns the digits typed on a keypad, or None when they cannot be a code.

    Spaces are ignored and ONE trailing `#` (the enter key) is dropped; what remains must be
    4 to 8 ASCII digits.
    """
    if len(raw) > 64:
        return None
    code = _WHITESPACE.sub("", raw).removesuffix("#")
    return code if _KEYPAD_CODE.fullmatch(code) else None


def is_valid_code(code: str) -> bool:
    """Returns whether `code` is a storable PIN: 4 to 8 ASCII digits, nothing else."""
    return _KEYPAD_CODE.fullmatch(code) is not None


def windows_problem(windows: Sequence[Window]) -> str | None:
    """Returns why a credential's windows are unacceptable, or None when they are fine."""
    if not 1 <= len(windows) <= MAX_WINDOWS:
        return f"windows must hold 1 to {MAX_WINDOWS} entries"
    for window in windows:
        if window.valid_to <= window.valid_from:
            return "windows: valid_to must be later than valid_from"
    return None


def is_stale_write(version: int, *, held_version: int, held_revoked: bool) -> bool:
    """Returns whether a PUT at `version` must be ignored by what the door holds.

    An older version arrived late. At an equal version a revocation wins: the sender may
    re-push and revoke at one version (a reconciler racing a revocation), and whichever lands
    last, the door must end revoked; only a newer version programs a revoked ref again.
    """
    return version < held_version or (version == held_version and held_revoked)


def any_overlap(left: Iterable[Window], right: Sequence[Window]) -> bool:
    """Returns whether any window of `left` overlaps any window of `right`."""
    return any(a.overlaps(b) for a in left for b in right)


def decide(candidates: Sequence[CredentialCandidate], now: datetime) -> Decision:
    """Returns the keypad decision for the credentials whose code matched, at `now`.

    Granted if one is not revoked and has a window containing now; else `outside_window` if a
    matching one is not revoked; else `revoked` if only revoked ones matched; else
    `unknown_code`.
    """
    for candidate in candidates:
        if not candidate.revoked and any(w.contains(now) for w in candidate.windows):
            return Decision(granted=True, ref=candidate.ref)
    for candidate in candidates:
        if not candidate.revoked:
            return Decision(granted=False, ref=candidate.ref, reason="outside_window")
    if candidates:
        return Decision(granted=False, ref=candidates[0].ref, reason="revoked")
    return Decision(granted=False, reason="unknown_code")


def is_locked_out(locked_out_until: datetime | None, now: datetime) -> bool:
    """Returns whether the keypad refuses everything at `now`."""
    return locked_out_until is not None and now < locked_out_until


def lockout_started(locked_out_until: datetime) -> datetime:
    """Returns when the lock-out that lasts until `locked_out_until` began."""
    return locked_out_until - LOCKOUT_PERIOD


def failures_since(now: datetime) -> datetime:
    """Returns the earliest time a wrong code may have been typed to still count at `now`."""
    return now - FAILURE_WINDOW


def count_recent_failures(
    failure_times: Iterable[datetime], now: datetime, previous_lockout_until: datetime | None
) -> int:
    """Returns how many wrong codes count towards a lock-out at `now`.

    A wrong code counts when it is less than `FAILURE_WINDOW` old and was typed after the
    previous lock-out ended (a lock-out wipes the slate).
    """
    start = failures_since(now)
    return sum(
        1
        for at in failure_times
        if start < at <= now and (previous_lockout_until is None or at >= previous_lockout_until)
    )


def lockout_until(recent_failures: int, now: datetime) -> datetime | None:
    """Returns until when the keypad locks out after a wrong code at `now`, or None."""
    if recent_failures >= LOCKOUT_THRESHOLD:
        return now + LOCKOUT_PERIOD
    return None


def is_locked(unlocked_until: datetime | None, now: datetime) -> bool:
    """Returns whether a door is locked at `now`: it is, unless unlocked until a later time."""
    return not (unlocked_until is not None and unlocked_until > now)


def extend_unlock(current: datetime | None, now: datetime, seconds: float) -> datetime:
    """Returns the new unlocked-until time: never earlier than an unlock already running."""
    wanted = now + timedelta(seconds=seconds)
    return wanted if current is None or current < wanted else current


@dataclass(frozen=True)
class ScheduledUnlock:
    """The unlock schedule a door is in now: whose, and until when (the window's end)."""

    ref: str
    until: datetime


def current_unlock(
    schedules: Mapping[str, Sequence[Window]], now: datetime
) -> ScheduledUnlock | None:
    """Returns the unlock schedule in force at `now`, or None.

    When several hold (two events back to back on one door), the one lasting longest wins, so
    the door is not locked between them; ties go to the smallest ref, so every reader agrees.
    """
    best: ScheduledUnlock | None = None
    for ref in sorted(schedules):
        for window in schedules[ref]:
            if window.contains(now) and (best is None or window.valid_to > best.until):
                best = ScheduledUnlock(ref, window.valid_to)
    return best


def next_schedule_change(
    schedules: Mapping[str, Sequence[Window]], now: datetime
) -> datetime | None:
    """Returns the next instant after `now` at which an unlock schedule starts or ends."""
    moments = [
        moment
        for windows in schedules.values()
        for window in windows
        for moment in (window.valid_from, window.valid_to)
        if moment > now
    ]
    return min(moments, default=None)


def unlocked_until(
    pulse_until: datetime | None, schedule: ScheduledUnlock | None, now: datetime
) -> datetime | None:
    """Returns until when the door is unlocked at `now` (a pulse or a schedule), or None."""
    ends = [end for end in (pulse_until, schedule.until if schedule else None) if end and end > now]
    return max(ends, default=None)
