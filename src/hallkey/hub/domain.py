"""The hub's pure rules: windows, PIN codes, request fingerprints, retention. No I/O."""

from __future__ import annotations

import itertools
import json
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from hallkey.core.security import keyed_digest

PIN_MIN_LENGTH = 4
PIN_MAX_LENGTH = 8
MAX_PIN_TRIES = 10_000
PULSE_MIN_SECONDS = 1
PULSE_MAX_SECONDS = 60
PROGRAM_TRIES_BEFORE_FAILED = 5
MAX_REVISION = 2**53
"""Revisions are below this (exact in every JSON reader, including JavaScript's)."""
SLOW_RETRY_SECONDS = 15 * 60
"""How often a door that refused a credential for good (full, a code it rejects) is tried
again: an operator may free space or mend the door, and nobody should have to ask."""


class RuleViolation(ValueError):
    """A request breaks a rule; `field` names the offending input."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class WindowLimits:
    """How long one window may last, and how far a grant may reach: from its first start, or
    from `now` if that is earlier (so a grant can never end far in the future either)."""

    max_window: timedelta
    max_span: timedelta
    now: datetime


@dataclass(frozen=True, order=True)
class Window:
    """A half-open time frame `[valid_from, valid_to)` in UTC."""

    valid_from: datetime
    valid_to: datetime

    def overlaps(self, other: Window) -> bool:
        """Tells whether two half-open windows share an instant."""
        return self.valid_from < other.valid_to and other.valid_from < self.valid_to

    def contains(self, when: datetime) -> bool:
        """Tells whether `when` lies inside the window."""
        return self.valid_from <= when < self.valid_to


def make_windows(
    *,
    valid_from: datetime | None,
    valid_to: datetime | None,
    windows: Sequence[tuple[datetime, datetime]] | None,
    now: datetime | None,
    limits: WindowLimits | None = None,
) -> list[Window]:
    """Returns the sorted, merged windows of a request; raises RuleViolation when invalid.

    Exactly one of (valid_from and valid_to) or windows must be given; every window must end
    after it starts, and the last must end after `now` (a grant may start in the past);
    `now=None` skips that check. With `limits`, no window may last longer than its
    `max_window`, nor the grant reach further than its `max_span`.
    """
    has_single = valid_from is not None or valid_to is not None
    if has_single and windows:
        raise RuleViolation("give either valid_from/valid_to or windows, not both", "windows")
    if windows:
        raw = list(windows)
        prefix = "windows"
    elif has_single:
        if valid_from is None:
            raise RuleViolation("valid_from is required with valid_to", "valid_from")
        if valid_to is None:
            raise RuleViolation("valid_to is required with valid_from", "valid_to")
        raw = [(valid_from, valid_to)]
        prefix = ""
    else:
        raise RuleViolation("give valid_from and valid_to, or windows", "valid_from")
    result: list[Window] = []
    for index, (start, end) in enumerate(raw):
        field = f"{prefix}.{index}.valid_to" if prefix else "valid_to"
        if end <= start:
            raise RuleViolation("valid_to must be after valid_from", field)
        if limits is not None and end - start > limits.max_window:
            raise RuleViolation(f"a window may last at most {limits.max_window.days} days", field)
        result.append(Window(start.astimezone(UTC), end.astimezone(UTC)))
    merged = merge_windows(result)
    if limits is not None:
        last = max(range(len(result)), key=lambda index: result[index].valid_to)
        if result[last].valid_to - min(merged[0].valid_from, limits.now) > limits.max_span:
            raise RuleViolation(
                f"a grant may reach at most {limits.max_span.days} days from its start or now",
                f"{prefix}.{last}.valid_to" if prefix else "valid_to",
            )
    if now is not None and merged[-1].valid_to <= now:
        field = f"{prefix}.{len(raw) - 1}.valid_to" if prefix else "valid_to"
        raise RuleViolation("valid_to must be in the future", field)
    return merged


def merge_windows(windows: Iterable[Window]) -> list[Window]:
    """Returns the windows sorted, with overlapping or touching ones merged."""
    merged: list[Window] = []
    for window in sorted(windows):
        if merged and window.valid_from <= merged[-1].valid_to:
            last = merged[-1]
            merged[-1] = Window(last.valid_from, max(last.valid_to, window.valid_to))
        else:
            merged.append(window)
    return merged


def any_overlap(first: Sequence[Window], second: Sequence[Window]) -> bool:
    """Tells whether any window of `first` overlaps any window of `second`."""
    return any(a.overlaps(b) for a in first for b in second)


def valid_at(windows: Sequence[Window], when: datetime) -> bool:
    """Tells whether `when` lies in one of the windows."""
    return any(window.contains(when) for window in windows)


def is_trivial_pin(code: str) -> bool:
    """Tells whether a code is too easy to guess: one repeated digit, a straight run
    (ascending or descending, also wrapping 9→0 such as 901234), or a repeated pair (121212)."""
    digits = [int(c) for c in code]
    if len(set(digits)) == 1:
        return True
    steps = {(b - a) % 10 for a, b in itertools.pairwise(digits)}
    if steps in ({1}, {9}):
        return True
    return len(code) >= 4 and all(digits[i] == digits[i % 2] for i in range(len(digits)))


def generate_pin(
    length: int,
    is_taken: Callable[[str], bool],
    randbelow: Callable[[int], int] = secrets.randbelow,
    *,
    tries: int = MAX_PIN_TRIES,
) -> str:
    """Returns a random PIN of `length` digits that is neither trivial nor taken (raises
    RuntimeError after `tries` draws).

    `is_taken` tells whether a code clashes with another grant's code at a shared door in an
    overlapping window; `randbelow` is the source of randomness (secrets, or seeded in tests).
    """
    if not PIN_MIN_LENGTH <= length <= PIN_MAX_LENGTH:
        raise ValueError(f"pin length must be {PIN_MIN_LENGTH}-{PIN_MAX_LENGTH}")
    for _ in range(tries):
        code = "".join(str(randbelow(10)) for _ in range(length))
        if not is_trivial_pin(code) and not is_taken(code):
            return code
    raise RuntimeError("no free PIN code found")


def format_code(code: str) -> str:
    """Returns the code as typed on a keypad: the digits and the enter key `#`."""
    return f"{code}#"


def _utc_text(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_request(request: dict[str, Any]) -> str:
    """Returns a canonical JSON text of a request: sorted keys, times in UTC, sets sorted."""

    def normal(value: Any) -> Any:
        if isinstance(value, datetime):
            return _utc_text(value)
        if isinstance(value, dict):
            return {str(k): normal(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [normal(v) for v in value]
        return value

    return json.dumps(normal(request), sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def fingerprint(key: bytes, request: dict[str, Any]) -> str:
    """Returns the keyed SHA-256 fingerprint of a request's canonical form.

    Keyed (HMAC), because the request holds a phone number: a plain hash of it could be
    reversed by trying every number.
    """
    return keyed_digest(key, canonical_request(request))


def grant_request_canonical(
    *,
    ref: str,
    operation: str,
    credential: str,
    doors: Iterable[str],
    windows: Iterable[Window],
    phone: str | None,
    email: str | None,
    deliver_via: Iterable[str],
    locale: str,
) -> dict[str, Any]:
    """Returns the parts of a GrantAccess request that make it "the same request"."""
    return {
        "ref": ref,
        "operation": operation,
        "credential": credential,
        "doors": sorted(set(doors)),
        "windows": [[w.valid_from, w.valid_to] for w in merge_windows(windows)],
        "recipient": {"phone": phone, "email": email},
        "deliver_via": sorted(set(deliver_via)),
        "locale": locale,
    }


def retention_cutoff(now: datetime, retention_days: int) -> datetime:
    """Returns the time before which an ended (or revoked) grant loses its recipient."""
    return now - timedelta(days=retention_days)


def recipient_expired(
    *,
    valid_to: datetime,
    revoked_at: datetime | None,
    now: datetime,
    retention_days: int,
) -> bool:
    """Tells whether a grant's phone and email must be deleted now."""
    cutoff = retention_cutoff(now, retention_days)
    return valid_to <= cutoff or (revoked_at is not None and revoked_at <= cutoff)


@dataclass(frozen=True)
class WantedCredential:
    """What the hub wants one door to do with one ref: hold it in `windows`, or not at all."""

    ref: str
    action: str  # "program" | "revoke"
    windows: tuple[Window, ...]


@dataclass(frozen=True)
class Drift:
    """How a door differs from what the hub wants: refs to push again, refs unknown to it."""

    reapply: tuple[str, ...]
    stray: tuple[str, ...]


def door_drift(
    wanted: Iterable[WantedCredential],
    held: Mapping[str, tuple[Window, ...]],
    known_refs: set[str],
    now: datetime,
) -> Drift:
    """Compares what a door should hold with the live credentials it reports.

    `wanted` holds the grants the hub believes applied at this door and not yet ended;
    `held` maps each live ref the door reports to its windows; `known_refs` are the held refs
    the hub has any grant for at this door. A ref to hold that is missing or has other
    windows, or a revoked ref the door still honours, is pushed again; a live ref the hub
    never granted at this door is stray and must be revoked.
    """
    reapply: list[str] = []
    for want in wanted:
        windows = held.get(want.ref)
        if want.action == "program":
            if windows is None or sorted(windows) != sorted(want.windows):
                reapply.append(want.ref)
        elif windows is not None and any(w.valid_to > now for w in windows):
            reapply.append(want.ref)
    stray = sorted(ref for ref in held if ref not in known_refs)
    return Drift(reapply=tuple(reapply), stray=tuple(stray))
