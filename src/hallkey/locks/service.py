"""The door controller's operations. They take the caller's session and never commit."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from hallkey.core.errors import Conflict, InvalidInput, NotFound, Unauthorized
from hallkey.core.jobs import once_id
from hallkey.core.security import keyed_digest, parse_api_key, verify_secret
from hallkey.locks import domain, public_keys, repository
from hallkey.locks.models import Controller, Credential, CredentialWindow, Door, Event
from hallkey.locks.schemas import (
    CredentialListItem,
    CredentialOut,
    CredentialPut,
    CredentialRevoked,
    DoorOut,
    EventOut,
    WindowBody,
)

if TYPE_CHECKING:
    from hallkey.locks.context import LocksContext

log = logging.getLogger(__name__)

PUSH_EVENTS = "push_events"
"""Job kind: send a controller's unpushed events to the hub (at most one queued each)."""

PUSH_SWEEP = "push_sweep"
PUSH_SWEEP_ID = "job_locks_push_sweep"
"""The recurring job that queues a push for every controller with events still unpushed."""


def queue_push(ctx: LocksContext, session: Session, controller_id: str) -> None:
    """Queues the push of a controller's events, unless one is queued already."""
    job_id = once_id(PUSH_EVENTS, controller_id)
    payload = {"controller_id": controller_id}
    # Re-armed: a push under way may have read the events before this one was committed.
    ctx.jobs.enqueue_once(session, job_id, PUSH_EVENTS, payload, rearm=True, peer="hub")


_PUSH_QUEUED = "locks_push_queued"

DOOR_SCHEDULE = "door_schedule"
DOOR_SCHEDULE_ID = "job_locks_door_schedule"
"""The recurring job that unlocks and locks doors by their unlock schedules, with events."""


def queue_schedule(ctx: LocksContext, session: Session) -> None:
    """Makes the schedule job run now: a schedule was added, moved or revoked."""
    ctx.jobs.enqueue_once(session, DOOR_SCHEDULE_ID, DOOR_SCHEDULE, rearm=True)


def authenticate(session: Session, token: str) -> str:
    """Returns the id of the controller whose locks API key is `token`; raises Unauthorized."""
    parsed = parse_api_key(token, "hkl")
    found = repository.controller_by_key_id(session, parsed[0]) if parsed else None
    if parsed is None or found is None or not verify_secret(parsed[1], found.api_secret_hash):
        raise Unauthorized("invalid locks API key")
    return found.id


def door_for_update(session: Session, controller_id: str, door_id: str) -> Door:
    """Returns the controller's door, row-locked; raises NotFound."""
    return _door(session, controller_id, door_id, for_update=True)


def _door(session: Session, controller_id: str, door_id: str, *, for_update: bool = False) -> Door:
    door = repository.door_of(session, controller_id, door_id, for_update=for_update)
    if door is None:
        raise NotFound("no such door on this controller", field="door_id", code="unknown_door")
    return door


def _door_out(
    door: Door, now: datetime, schedules: dict[str, list[domain.Window]] | None = None
) -> DoorOut:
    # The schedule decides from the windows and the clock, not from the schedule job having
    # run: a late worker delays the door's events, never its state.
    until = domain.unlocked_until(
        door.unlocked_until_at, domain.current_unlock(schedules or {}, now), now
    )
    return DoorOut(
        id=door.id,
        name=door.name,
        locked=until is None,
        unlocked_until=until,
        online=True,  # the doors are wired to this controller
    )


def list_doors(ctx: LocksContext, session: Session, controller_id: str) -> list[DoorOut]:
    """Returns the controller's doors with their lock state."""
    now = ctx.clock.now()
    doors = repository.doors_of(session, controller_id)
    schedules = repository.unlock_schedules(session, [door.id for door in doors], now)
    return [_door_out(door, now, schedules[door.id]) for door in doors]


def get_door(ctx: LocksContext, session: Session, controller_id: str, door_id: str) -> DoorOut:
    """Returns one door of the controller with its lock state."""
    door = _door(session, controller_id, door_id)
    now = ctx.clock.now()
    return _door_out(door, now, repository.unlock_schedules(session, [door.id], now)[door.id])


def _windows(rows: Sequence[CredentialWindow]) -> list[WindowBody]:
    return [WindowBody(valid_from=w.valid_from_at, valid_to=w.valid_to_at) for w in rows]


def domain_windows(rows: Sequence[CredentialWindow]) -> list[domain.Window]:
    return [domain.Window(w.valid_from_at, w.valid_to_at) for w in rows]


def code_digest(ctx: LocksContext, session: Session, controller_id: str, code: str) -> str:
    """Returns the keyed digest of a code under the controller's PIN secret."""
    secret = ctx.known_pin_secret(controller_id)
    if secret is None:  # the first code of this controller since the process started
        controller = controller_record(session, controller_id)
        secret = ctx.pin_secret(controller.id, controller.pin_secret_sealed)
    return keyed_digest(secret, code)


def put_credential(
    ctx: LocksContext,
    session: Session,
    controller_id: str,
    door_id: str,
    ref: str,
    body: CredentialPut,
) -> CredentialOut:
    """Programs (or reprograms, un-revoking) the PIN, mobile key or unlock schedule of `ref`
    on the door; returns it."""
    door = _door(session, controller_id, door_id, for_update=True)
    if body.type == "pin" and (body.code is None or not domain.is_valid_code(body.code)):
        raise InvalidInput("code must be 4 to 8 digits", field="code")
    if body.type == "mobile_key" and (body.code is not None or not body.keys):
        field = "code" if body.code is not None else "keys"
        raise InvalidInput("a mobile key takes the hub's keys and no code", field=field)
    if body.type == "unlock" and (body.code is not None or body.keys):
        field = "code" if body.code is not None else "keys"
        raise InvalidInput("an unlock schedule has no code and no keys", field=field)
    windows = [domain.Window(w.valid_from, w.valid_to) for w in body.windows]
    problem = domain.windows_problem(windows)
    if problem is not None:
        raise InvalidInput(problem, field="windows")
    now = ctx.clock.now()
    if body.hub_door is not None and door.hub_door_id != body.hub_door:
        # Even a stale write names the door truly: the mapping is the door's, not the ref's.
        log.info("door %s is %s at the hub", door.id, body.hub_door)
        door.hub_door_id = body.hub_door
    credential = repository.credential(session, door.id, ref)
    if credential is not None and domain.is_stale_write(
        body.version, held_version=credential.version, held_revoked=credential.revoked
    ):
        log.info("credential %s on door %s: stale write (v%d) ignored", ref, door.id, body.version)
        return _credential_out(session, credential)
    if body.keys:
        public_keys.store(session, controller_id, body.keys, now)
    digest = code_digest(ctx, session, controller_id, body.code) if body.code is not None else None

    clashing = [
        c
        for c in (repository.credentials_by_digest(session, door.id, digest) if digest else [])
        if c.ref != ref and not c.revoked
    ]
    if clashing:
        existing = repository.windows_of(session, [c.id for c in clashing])
        if any(domain.any_overlap(domain_windows(existing[c.id]), windows) for c in clashing):
            log.info("credential %s on door %s refused: code clash", ref, door.id)
            raise Conflict(
                "the code is held by another credential of this door at an overlapping time",
                field="code",
                code="code_rejected",
            )
    if (
        repository.count_active_credentials(
            session, door.id, now, except_ref=ref, up_to=door.max_credentials
        )
        >= door.max_credentials
    ):
        log.info("credential %s on door %s refused: door full", ref, door.id)
        raise Conflict("the door holds its maximum of credentials", code="no_space_on_door")

    created = credential is None
    if credential is None:
        credential = Credential(
            id=repository.new_credential_id(), door_id=door.id, ref=ref, type=body.type
        )
        session.add(credential)
    credential.type = body.type
    credential.code_digest = digest
    credential.revoked = False
    credential.version = body.version
    credential.updated_at = now
    session.flush()
    repository.replace_windows(
        session, credential.id, [(w.valid_from, w.valid_to) for w in windows], new=created
    )
    if credential.type == "unlock":
        queue_schedule(ctx, session)
    log.info("%s %s programmed on door %s (%d windows)", body.type, ref, door.id, len(windows))
    return CredentialOut(
        door=door.id,
        ref=ref,
        type=credential.type,
        windows=[WindowBody(valid_from=w.valid_from, valid_to=w.valid_to) for w in windows],
        revoked=False,
        version=credential.version,
    )


def _credential_out(session: Session, credential: Credential) -> CredentialOut:
    windows = repository.windows_of(session, [credential.id])[credential.id]
    return CredentialOut(
        door=credential.door_id,
        ref=credential.ref,
        type=credential.type,
        windows=_windows(windows),
        revoked=credential.revoked,
        version=credential.version,
    )


def revoke_credential(
    ctx: LocksContext,
    session: Session,
    controller_id: str,
    door_id: str,
    ref: str,
    *,
    version: int = 0,
) -> CredentialRevoked:
    """Revokes the credential of `ref` on the door, recording the ref as revoked if unknown
    (so that a PUT of an older version arriving later is ignored)."""
    door = _door(session, controller_id, door_id, for_update=True)
    credential = repository.credential(session, door.id, ref)
    now = ctx.clock.now()
    if credential is not None and version < credential.version:
        log.info("credential %s on door %s: stale revoke (v%d) ignored", ref, door.id, version)
        return CredentialRevoked(door=door.id, ref=ref, revoked=credential.revoked)
    if credential is None:
        session.add(
            Credential(
                id=repository.new_credential_id(),
                door_id=door.id,
                ref=ref,
                type="pin",
                code_digest=None,
                revoked=True,
                version=version,
                updated_at=now,
            )
        )
    else:
        credential.revoked = True
        credential.version = version
        credential.updated_at = now
        if credential.type == "unlock":
            queue_schedule(ctx, session)  # a door standing open for it locks now
    session.flush()
    log.info("credential %s revoked on door %s", ref, door.id)
    return CredentialRevoked(door=door.id, ref=ref, revoked=True)


def list_credentials(
    ctx: LocksContext, session: Session, controller_id: str, door_id: str, *, live: bool
) -> list[CredentialListItem]:
    """Returns the door's credentials (without codes) by ref: all, or only the live ones.

    Live: not revoked, with a window that has not ended — what can still open the door.
    """
    door = _door(session, controller_id, door_id)
    live_at = ctx.clock.now() if live else None
    credentials = repository.credentials_of_door(session, door.id, live_at=live_at)
    windows = repository.windows_of(session, [c.id for c in credentials])
    return [
        CredentialListItem(
            ref=c.ref,
            type=c.type,
            windows=_windows(windows[c.id]),
            revoked=c.revoked,
            version=c.version,
        )
        for c in credentials
    ]


def record_event(
    ctx: LocksContext,
    session: Session,
    door: Door,
    kind: domain.EventKind,
    *,
    at: datetime,
    ref: str | None = None,
    reason: str | None = None,
) -> Event:
    """Records a door event at `at` and, once per transaction, queues its push to the hub.

    `at` is the caller's one `now` of its decision, never a later clock read: the lock-out
    count must find the wrong code just recorded.
    """
    event = repository.add_event(session, door_id=door.id, kind=kind, at=at, ref=ref, reason=reason)
    queued: set[str] = session.info.setdefault(_PUSH_QUEUED, set())
    if door.controller_id not in queued:
        queue_push(ctx, session, door.controller_id)
        queued.add(door.controller_id)
    return event


def pulse(
    ctx: LocksContext,
    session: Session,
    controller_id: str,
    door_id: str,
    *,
    seconds: int,
    ref: str | None,
) -> DoorOut:
    """Unlocks the door for `seconds` (never shortening an unlock); returns the door."""
    door = _door(session, controller_id, door_id, for_update=True)
    now = ctx.clock.now()
    door.unlocked_until_at = domain.extend_unlock(door.unlocked_until_at, now, seconds)
    record_event(ctx, session, door, "door_pulsed", at=now, ref=ref)
    log.info("door %s pulsed for %ds (ref %s)", door.id, seconds, ref)
    return _door_out(door, now, repository.unlock_schedules(session, [door.id], now)[door.id])


def list_events(
    session: Session,
    controller_id: str,
    *,
    since: datetime | None,
    ref: str | None,
    door_id: str | None,
    limit: int,
) -> list[EventOut]:
    """Returns the controller's events, oldest first."""
    if door_id is not None:
        _door(session, controller_id, door_id)
    events = repository.events_of(
        session, controller_id, since=since, ref=ref, door_id=door_id, limit=limit
    )
    return [event_out(e) for e in events]


def event_out(event: Event) -> EventOut:
    """Returns the JSON form of an event."""
    return EventOut(
        id=event.id,
        door=event.door_id,
        ref=event.ref,
        kind=event.kind,  # stored from domain.EventKind only
        reason=event.reason,
        at=event.at,
    )


def controller_record(session: Session, controller_id: str) -> Controller:
    """Returns the controller or raises NotFound."""
    found = repository.controller(session, controller_id)
    if found is None:
        raise NotFound("no such controller", field="controller_id")
    return found
