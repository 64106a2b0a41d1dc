"""The door controller's operations. They take the caller's session and never commit."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from hallkey.core.errors import NotFound, Unauthorized
from hallkey.core.jobs import once_id
from hallkey.core.security import keyed_digest, parse_api_key, verify_secret
from hallkey.locks import domain, event_queries, repository
from hallkey.locks.models import Controller, CredentialWindow, Door, Event
from hallkey.locks.schemas import (
    CredentialListItem,
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


def unknown_door() -> NotFound:
    """Returns the error for a door that is not the controller's (or no door at all)."""
    return NotFound("no such door on this controller", field="door_id", code="unknown_door")


def _door(session: Session, controller_id: str, door_id: str, *, for_update: bool = False) -> Door:
    door = repository.door_of(session, controller_id, door_id, for_update=for_update)
    if door is None:
        raise unknown_door()
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


def window_bodies(rows: Sequence[CredentialWindow]) -> list[WindowBody]:
    """Returns stored windows in their JSON form."""
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


def list_credentials(
    ctx: LocksContext,
    session: Session,
    controller_id: str,
    door_id: str,
    *,
    live: bool,
    after: str | None = None,
    limit: int | None = None,
) -> list[CredentialListItem]:
    """Returns the door's credentials (without codes) by ref: all, or only the live ones;
    those after the ref `after`, at most `limit`.

    Live: not revoked, with a window that has not ended — what can still open the door.
    """
    door = _door(session, controller_id, door_id)
    live_at = ctx.clock.now() if live else None
    credentials = repository.credentials_of_door(
        session, door.id, live_at=live_at, after=after, limit=limit
    )
    windows = repository.windows_of(session, [c.id for c in credentials])
    return [
        CredentialListItem(
            ref=c.ref,
            type=c.type,
            windows=window_bodies(windows[c.id]),
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
    event = event_queries.add_event(
        session, door_id=door.id, kind=kind, at=at, ref=ref, reason=reason
    )
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
    events = event_queries.events_of(
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
