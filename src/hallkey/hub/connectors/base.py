"""The extension point between the hub and a site's lock system."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from hallkey.hub.domain import Window

STORE_CREDENTIALS = "store_credentials"
PULSE = "pulse"
SCHEDULE = "schedule"
ALL_CAPABILITIES = frozenset({STORE_CREDENTIALS, PULSE, SCHEDULE})

ERROR_CODES = frozenset(
    {"door_offline", "no_space_on_door", "code_rejected", "unsupported", "unknown_door"}
)


class ConnectorError(Exception):
    """A lock system could not do what was asked.

    `code` is one of `door_offline`, `no_space_on_door`, `code_rejected`, `unsupported`,
    `unknown_door`; `retryable` tells whether the same call may succeed later. The message
    never holds a code, key or person.
    """

    def __init__(self, code: str, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable


@dataclass(frozen=True)
class DoorTarget:
    """The door a connector acts on: the hub's id and the lock system's own id for it."""

    id: str
    remote_id: str
    site_id: str


@dataclass(frozen=True)
class Credential:
    """What a door must accept for a ref: a PIN `code` inside the `windows`."""

    type: str
    code: str | None
    windows: tuple[Window, ...]
    version: int = 0
    """The hub's version of this door's state for the ref; the lock ignores older writes."""
    keys: tuple[dict[str, Any], ...] = ()
    """For a mobile key: the hub's public keys (JWKs) with which the door verifies it."""


@dataclass(frozen=True)
class HeldCredential:
    """A credential a door holds that can still open it (not revoked, not ended); no code."""

    ref: str
    windows: tuple[Window, ...]
    version: int = 0


def page_of(
    held: Iterable[HeldCredential], after: str | None, limit: int | None
) -> list[HeldCredential]:
    """Returns the page `LockConnector.live_credentials` asks for from some or all of a door's
    credentials: by ref, those after `after`, at most `limit`."""
    found = sorted(
        (credential for credential in held if after is None or credential.ref > after),
        key=lambda credential: credential.ref,
    )
    return found[:limit]


@dataclass(frozen=True)
class DoorStatus:
    """What a lock system says about a door's health."""

    online: bool
    battery: int | None


class LockConnector(Protocol):
    """How the hub reaches the lock system of one site.

    Every method acts on one door, identified by `door.remote_id` in the lock system, and
    raises `ConnectorError` on failure: `retryable=True` for a temporary failure (door or
    lock system unreachable: code `door_offline`), `retryable=False` when the lock system
    refused the request for good. Methods are called from background jobs (program, revoke)
    or a request (pulse), never inside a database transaction, and may block on I/O.
    """

    capabilities: frozenset[str]
    """What this connector can do: a subset of `store_credentials`, `pulse`, `schedule`."""

    keeps_schedules: bool
    """With `schedule`: True when the lock system keeps a whole unlock schedule and runs it on
    its own clock; False when it takes one opening at a time — then `program` of an `unlock`
    credential opens the door for the window holding now (if any) until that window's end,
    the device relocks by itself, and the hub calls `program` again at each window's start."""

    def program(self, door: DoorTarget, ref: str, credential: Credential) -> None:
        """Makes the door accept `credential` for `ref` in its windows (for type `unlock`: stand
        unlocked in them, without a code; see `keeps_schedules`), replacing whatever
        that ref held there before (and undoing a revocation) — unless the door already holds
        a newer `credential.version` for the ref, or a revocation at the same version, when the
        call changes nothing.

        Idempotent: may be called again with the same arguments after a failure or a crash.
        Raises ConnectorError: `door_offline` (retryable), `code_rejected` (the code is held
        by another ref at an overlapping time), `no_space_on_door` (the door's live
        credentials of other refs — not revoked, not ended — fill it), `unknown_door`,
        `unsupported` (the connector cannot store credentials).
        """
        ...

    def revoke(self, door: DoorTarget, ref: str, version: int = 0) -> None:
        """Makes the door refuse every credential of `ref` from now on.

        Idempotent, and succeeds also for a ref the door never held. `version` orders it
        against `program` calls for the same ref: whichever carries the higher version wins,
        and at an equal version the revocation wins, whatever order they arrive in (a slow
        program call must not undo a revocation).
        Raises ConnectorError: `door_offline` (retryable), `unknown_door`, `unsupported`.
        """
        ...

    def pulse(self, door: DoorTarget, seconds: int, ref: str | None) -> datetime:
        """Unlocks the door now for `seconds` (1-60) and returns when it relocks (UTC).

        The device itself ends the pulse, so the door relocks even if the hub dies. A retry
        extends the pulse; callers should not retry automatically. Raises ConnectorError:
        `door_offline` (retryable), `unknown_door`, `unsupported`.
        """
        ...

    def live_credentials(
        self, door: DoorTarget, *, after: str | None = None, limit: int | None = None
    ) -> list[HeldCredential]:
        """Returns what the door holds that can still open it: every credential not revoked
        with a window not yet ended, by ref, without codes; those after the ref `after`, at
        most `limit` (a page: the reconciler reads a door with many codes a page at a time
        and compares each with what the hub wants the door to hold).

        Read-only; safe to retry. Raises ConnectorError: `door_offline` (retryable),
        `unknown_door`, `unsupported` (the connector cannot store credentials).
        """
        ...

    def status(self, door: DoorTarget) -> DoorStatus:
        """Returns whether the door is online and its battery level (percent) if known.

        Read-only; safe to retry. Raises ConnectorError: `door_offline`, `unknown_door`.
        """
        ...


DoorOutcomes = dict[str, ConnectorError | None]
"""Per door (the hub's id): None when the door took the change, else why not."""


@runtime_checkable
class ManyDoorsConnector(Protocol):
    """A connector that applies one ref's change to several doors of its site in one call.

    Each door's outcome is what `program` or `revoke` on that door alone would have had; a
    failure of the whole call (the lock system unreachable) is every door's.
    """

    def program_doors(
        self, doors: Sequence[DoorTarget], ref: str, credential: Credential
    ) -> DoorOutcomes: ...

    def revoke_doors(
        self, doors: Sequence[DoorTarget], ref: str, version: int = 0
    ) -> DoorOutcomes: ...


def program_each(
    connector: LockConnector, doors: Sequence[DoorTarget], ref: str, credential: Credential
) -> DoorOutcomes:
    """Programs `credential` for `ref` on every door: in one call where the connector can,
    else door by door; returns each door's outcome."""
    if len(doors) > 1 and isinstance(connector, ManyDoorsConnector):
        return connector.program_doors(doors, ref, credential)
    return one_by_one(doors, lambda door: connector.program(door, ref, credential))


def revoke_each(
    connector: LockConnector, doors: Sequence[DoorTarget], ref: str, version: int = 0
) -> DoorOutcomes:
    """Revokes `ref` on every door (see `program_each`)."""
    if len(doors) > 1 and isinstance(connector, ManyDoorsConnector):
        return connector.revoke_doors(doors, ref, version)
    return one_by_one(doors, lambda door: connector.revoke(door, ref, version))


def one_by_one(doors: Sequence[DoorTarget], apply: Callable[[DoorTarget], None]) -> DoorOutcomes:
    """Applies a change door by door; returns each door's outcome."""
    outcomes: DoorOutcomes = {}
    for door in doors:
        try:
            apply(door)
        except ConnectorError as exc:
            outcomes[door.id] = exc
        else:
            outcomes[door.id] = None
    return outcomes
