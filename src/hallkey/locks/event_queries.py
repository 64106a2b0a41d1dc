"""The door events' queries: recorded at the door, pushed to the hub, read for lockouts."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from ulid import ULID

from hallkey.locks.models import Door, Event

_id_lock = threading.Lock()
_last_event_ulid = 0


def new_event_id() -> str:
    """Returns a new `evt_…` id, strictly increasing within this process.

    Events recorded at the same instant (one keypad entry may record two) then keep the order
    in which they happened when sorted by `(at, id)`.
    """
    global _last_event_ulid
    with _id_lock:
        value = max(int(ULID()), _last_event_ulid + 1)
        _last_event_ulid = value
    return f"evt_{str(ULID.from_int(value)).lower()}"


def add_event(
    session: Session,
    *,
    door_id: str,
    kind: str,
    at: datetime,
    ref: str | None = None,
    reason: str | None = None,
) -> Event:
    """Records an event of a door (not yet pushed to the hub)."""
    event = Event(id=new_event_id(), door_id=door_id, ref=ref, kind=kind, reason=reason, at=at)
    session.add(event)
    session.flush()
    return event


def failure_times(session: Session, door_id: str, since: datetime) -> Sequence[datetime]:
    """Returns when unknown codes were typed at the door.

    Only `unknown_code` counts: a guest who types a real code too early (`outside_window`) or
    after a cancellation (`revoked`) is not guessing, and must not lock everyone else out.
    """
    return session.scalars(
        select(Event.at).where(
            Event.door_id == door_id,
            Event.at > since,
            Event.kind == "access_denied",
            Event.reason == "unknown_code",
        )
    ).all()


def has_lockout_denial(session: Session, door_id: str, *, since: datetime) -> bool:
    """Returns whether a `locked_out` refusal was recorded at the door at or after `since`."""
    query = select(Event.id).where(
        Event.door_id == door_id,
        Event.at >= since,
        Event.kind == "access_denied",
        Event.reason == "locked_out",
    )
    return session.scalars(query.limit(1)).first() is not None


def events_of(
    session: Session,
    controller_id: str,
    *,
    since: datetime | None,
    ref: str | None,
    door_id: str | None,
    limit: int,
) -> Sequence[Event]:
    """Returns the controller's events, oldest first, filtered."""
    query = select(Event).join(Door, Door.id == Event.door_id)
    query = query.where(Door.controller_id == controller_id)
    if since is not None:
        query = query.where(Event.at >= since)
    if ref is not None:
        query = query.where(Event.ref == ref)
    if door_id is not None:
        query = query.where(Event.door_id == door_id)
    return session.scalars(query.order_by(Event.at, Event.id).limit(limit)).all()


def unpushed_events(session: Session, controller_id: str, limit: int) -> Sequence[Event]:
    """Returns the controller's events the hub has not acknowledged, oldest first."""
    return session.scalars(
        select(Event)
        .join(Door, Door.id == Event.door_id)
        .where(Event.pushed_at.is_(None), Door.controller_id == controller_id)
        .order_by(Event.at, Event.id)
        .limit(limit)
    ).all()


def controllers_with_unpushed_events(session: Session) -> Sequence[str]:
    """Returns the controllers that have events the hub has not acknowledged."""
    return session.scalars(
        select(Door.controller_id)
        .join(Event, Event.door_id == Door.id)
        .where(Event.pushed_at.is_(None))
        .distinct()
    ).all()


def mark_pushed(session: Session, event_ids: Sequence[str], at: datetime) -> None:
    """Marks events as acknowledged by the hub."""
    if event_ids:
        session.execute(
            update(Event)
            .where(Event.id.in_(event_ids), Event.pushed_at.is_(None))
            .values(pushed_at=at)
        )


def quarantine(session: Session, codes: Mapping[str, str]) -> None:
    """Keeps the hub's error code on the events it refused (by event id)."""
    by_code: dict[str, list[str]] = {}
    for event_id, code in codes.items():
        by_code.setdefault(code, []).append(event_id)
    for code, event_ids in by_code.items():
        session.execute(update(Event).where(Event.id.in_(event_ids)).values(quarantine_code=code))
