"""The hub's queries of door events: stored once each, listed for the client, forwarded in
order and marked (forwarded, or quarantined when the client refuses one for good)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hallkey.core.db import insert_if_new
from hallkey.hub.models import Door, DoorEvent


def doors_by_remote_id(
    session: Session, site_id: str, remote_ids: Iterable[str], *, for_update: bool = False
) -> dict[str, Door]:
    """Returns a site's doors by their lock-system id (row-locked in door id order when
    `for_update`, the order every transaction that locks several doors takes them in)."""
    ids = set(remote_ids)
    if not ids:
        return {}
    query = select(Door).where(Door.site_id == site_id, Door.remote_id.in_(ids)).order_by(Door.id)
    if for_update:
        query = query.with_for_update()
    return {door.remote_id: door for door in session.scalars(query)}


def insert_event_if_new(session: Session, values: dict[str, Any]) -> bool:
    """Stores a door event unless the site already has its external id; tells if it was new
    (an event stored before is neither counted nor sent on again)."""
    return insert_if_new(session, DoorEvent, values, ["site_id", "external_id"], DoorEvent.id)


def client_events(
    session: Session,
    client_id: str,
    *,
    ref: str | None,
    door_id: str | None,
    since: datetime | None,
    limit: int,
) -> list[tuple[DoorEvent, str]]:
    """Returns a client's door events with their door's name, oldest first."""
    query = (
        select(DoorEvent, Door.name)
        .join(Door, Door.id == DoorEvent.door_id)
        .where(DoorEvent.client_id == client_id)
    )
    if ref is not None:
        query = query.where(DoorEvent.ref == ref)
    if door_id is not None:
        query = query.where(DoorEvent.door_id == door_id)
    if since is not None:
        query = query.where(DoorEvent.at >= since)
    query = query.order_by(DoorEvent.at, DoorEvent.id).limit(limit)
    return [(row[0], row[1]) for row in session.execute(query).all()]


def unforwarded_events(session: Session, client_id: str, limit: int) -> list[tuple[DoorEvent, str]]:
    """Returns a client's events not yet forwarded, oldest first, with door names."""
    query = (
        select(DoorEvent, Door.name)
        .join(Door, Door.id == DoorEvent.door_id)
        .where(DoorEvent.client_id == client_id, DoorEvent.forwarded_at.is_(None))
        .order_by(DoorEvent.at, DoorEvent.id)
        .limit(limit)
    )
    return [(row[0], row[1]) for row in session.execute(query).all()]


def mark_forwarded(session: Session, event_ids: Sequence[str], at: datetime) -> None:
    """Records that events reached the client."""
    session.execute(
        update(DoorEvent)
        .where(DoorEvent.id.in_(list(event_ids)), DoorEvent.forwarded_at.is_(None))
        .values(forwarded_at=at)
    )


def quarantine_event(session: Session, event_id: str, code: str, at: datetime) -> None:
    """Records that the client refused an event for good (`code`): it is not sent again."""
    session.execute(
        update(DoorEvent)
        .where(DoorEvent.id == event_id, DoorEvent.forwarded_at.is_(None))
        .values(forwarded_at=at, forward_error=code)
    )
