"""A real lock system kept in memory: it stores credentials, decides keypad codes, and can
be taken offline. Tests use it; a site with connector `memory` is served by it."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from hallkey.core.clock import Clock
from hallkey.core.schemas import REF_PATTERN
from hallkey.hub.connectors.base import (
    PULSE,
    STORE_CREDENTIALS,
    ConnectorError,
    Credential,
    DoorStatus,
    DoorTarget,
    HeldCredential,
    page_of,
)
from hallkey.hub.domain import Window, any_overlap, valid_at

DEFAULT_MAX_CREDENTIALS = 1000
_REF = re.compile(REF_PATTERN)
IMPLEMENTED = frozenset({STORE_CREDENTIALS, PULSE})
"""What the memory lock system can do (no unlock schedules yet)."""


@dataclass
class MemoryCredential:
    """A credential as the memory lock holds it."""

    type: str
    code: str | None
    windows: tuple[Window, ...]
    revoked: bool = False
    version: int = 0


@dataclass
class MemoryDoor:
    """A door of the memory lock system."""

    remote_id: str
    online: bool = True
    battery: int | None = None
    unlocked_until: datetime | None = None
    credentials: dict[str, MemoryCredential] = field(default_factory=dict)
    pulses: list[tuple[datetime, str | None]] = field(default_factory=list)


@dataclass(frozen=True)
class KeypadDecision:
    """What the door decided on a typed code."""

    granted: bool
    ref: str | None = None
    reason: str | None = None


def _check_ref(ref: str) -> None:
    """Refuses what is not a ref, as the door controller does (422 there)."""
    if _REF.fullmatch(ref) is None:
        raise ConnectorError("unsupported", "the lock system refuses this ref", retryable=False)


class MemoryLockSystem:
    """The state of an in-memory lock system shared by every `memory` site of a hub."""

    def __init__(self, clock: Clock, *, max_credentials: int = DEFAULT_MAX_CREDENTIALS) -> None:
        self.clock = clock
        self.max_credentials = max_credentials
        self._doors: dict[str, MemoryDoor] = {}
        self._lock = threading.RLock()

    def add_door(self, remote_id: str) -> MemoryDoor:
        """Installs a door (idempotent) and returns it."""
        with self._lock:
            return self._doors.setdefault(remote_id, MemoryDoor(remote_id))

    def door(self, remote_id: str) -> MemoryDoor:
        """Returns an installed door; raises KeyError when there is none."""
        with self._lock:
            return self._doors[remote_id]

    def set_online(self, remote_id: str, online: bool) -> None:
        """Takes a door offline (every call to it then fails) or back online."""
        with self._lock:
            self.door(remote_id).online = online

    def credential(self, remote_id: str, ref: str) -> MemoryCredential | None:
        """Returns what the door holds for `ref`, if anything."""
        with self._lock:
            return self.door(remote_id).credentials.get(ref)

    def try_code(self, remote_id: str, code: str, at: datetime | None = None) -> KeypadDecision:
        """Decides a code typed at the door's keypad (a trailing `#` is the enter key)."""
        when = at or self.clock.now()
        typed = code.removesuffix("#")
        with self._lock:
            door = self.door(remote_id)
            matches = [(ref, cred) for ref, cred in door.credentials.items() if cred.code == typed]
            if not matches:
                return KeypadDecision(False, reason="unknown_code")
            for ref, cred in matches:
                if not cred.revoked and valid_at(cred.windows, when):
                    return KeypadDecision(True, ref=ref)
            if all(cred.revoked for _, cred in matches):
                return KeypadDecision(False, reason="revoked")
            return KeypadDecision(False, reason="outside_window")

    def _reachable(self, remote_id: str) -> MemoryDoor:
        door = self._doors.get(remote_id)
        if door is None:
            raise ConnectorError(
                "unknown_door", "the lock system has no such door", retryable=False
            )
        if not door.online:
            raise ConnectorError("door_offline", "the door does not answer", retryable=True)
        return door

    def program(self, remote_id: str, ref: str, credential: Credential) -> None:
        """Stores `credential` for `ref` on the door; see LockConnector.program."""
        with self._lock:
            door = self._reachable(remote_id)
            _check_ref(ref)
            held = door.credentials.get(ref)
            # A late write (the door has a newer one) is ignored; so is one at the version of
            # a revocation: at an equal version a revocation wins, whichever arrives first.
            if held is not None and (
                credential.version < held.version
                or (credential.version == held.version and held.revoked)
            ):
                return
            if credential.code is not None:
                for other_ref, other in door.credentials.items():
                    if (
                        other_ref != ref
                        and not other.revoked
                        and other.code == credential.code
                        and any_overlap(other.windows, credential.windows)
                    ):
                        raise ConnectorError(
                            "code_rejected",
                            "another credential holds this code at an overlapping time",
                            retryable=False,
                        )
            # Only a live credential holds a place (not revoked, not ended), as on a controller.
            now = self.clock.now()
            active = sum(
                1
                for r, c in door.credentials.items()
                if r != ref and not c.revoked and any(w.valid_to > now for w in c.windows)
            )
            if active >= self.max_credentials:
                raise ConnectorError(
                    "no_space_on_door", "the door holds its maximum", retryable=False
                )
            door.credentials[ref] = MemoryCredential(
                credential.type, credential.code, credential.windows, version=credential.version
            )

    def revoke(self, remote_id: str, ref: str, version: int = 0) -> None:
        """Marks the ref revoked on the door; see LockConnector.revoke."""
        with self._lock:
            door = self._reachable(remote_id)
            _check_ref(ref)
            existing = door.credentials.get(ref)
            if existing is None:
                door.credentials[ref] = MemoryCredential(
                    "pin", None, (), revoked=True, version=version
                )
            elif version >= existing.version:
                existing.revoked = True
                existing.version = version

    def pulse(self, remote_id: str, seconds: int, ref: str | None) -> datetime:
        """Unlocks the door for `seconds`; see LockConnector.pulse."""
        with self._lock:
            door = self._reachable(remote_id)
            now = self.clock.now()
            door.unlocked_until = now + timedelta(seconds=seconds)
            door.pulses.append((now, ref))
            return door.unlocked_until

    def live_credentials(
        self, remote_id: str, *, after: str | None = None, limit: int | None = None
    ) -> list[HeldCredential]:
        """Returns what can still open the door; see LockConnector.live_credentials."""
        with self._lock:
            door = self._reachable(remote_id)
            now = self.clock.now()
            live = (
                HeldCredential(ref, cred.windows, cred.version)
                for ref, cred in door.credentials.items()
                if not cred.revoked and any(w.valid_to > now for w in cred.windows)
            )
            return page_of(live, after, limit)

    def status(self, remote_id: str) -> DoorStatus:
        """Returns the door's status; see LockConnector.status."""
        with self._lock:
            door = self._reachable(remote_id)
            return DoorStatus(online=door.online, battery=door.battery)


class MemoryConnector:
    """A `LockConnector` onto a MemoryLockSystem, optionally with fewer capabilities."""

    def __init__(
        self, system: MemoryLockSystem, capabilities: frozenset[str] = IMPLEMENTED
    ) -> None:
        self.system = system
        self.capabilities = capabilities
        self.keeps_schedules = True  # it keeps no schedules at all: no `schedule` capability

    def _require(self, capability: str) -> None:
        if capability not in self.capabilities:
            raise ConnectorError(
                "unsupported", f"this door cannot {capability.replace('_', ' ')}", retryable=False
            )

    def program(self, door: DoorTarget, ref: str, credential: Credential) -> None:
        """Stores the credential on the memory door."""
        self._require(STORE_CREDENTIALS)
        self.system.program(door.remote_id, ref, credential)

    def revoke(self, door: DoorTarget, ref: str, version: int = 0) -> None:
        """Revokes the ref on the memory door."""
        self._require(STORE_CREDENTIALS)
        self.system.revoke(door.remote_id, ref, version)

    def pulse(self, door: DoorTarget, seconds: int, ref: str | None) -> datetime:
        """Pulses the memory door; returns when it relocks."""
        self._require(PULSE)
        return self.system.pulse(door.remote_id, seconds, ref)

    def live_credentials(
        self, door: DoorTarget, *, after: str | None = None, limit: int | None = None
    ) -> list[HeldCredential]:
        """Returns what can still open the memory door."""
        self._require(STORE_CREDENTIALS)
        return self.system.live_credentials(door.remote_id, after=after, limit=limit)

    def status(self, door: DoorTarget) -> DoorStatus:
        """Returns the memory door's status."""
        return self.system.status(door.remote_id)
