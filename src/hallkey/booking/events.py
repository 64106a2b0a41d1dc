"""Door events pushed by the hub, stored by ref so staff can see a booking was used."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hallkey.booking import repository as repo
from hallkey.booking.models import AccessEvent
from hallkey.booking.schemas import AccessEventIn

if TYPE_CHECKING:
    from hallkey.booking.context import BookingContext

log = logging.getLogger(__name__)


def record_access_events(
    ctx: BookingContext, session: Session, tenant_id: str, events: list[AccessEventIn]
) -> int:
    """Stores door events pushed by the hub, each once; returns how many were accepted."""
    now = ctx.clock.now()
    known = repo.existing_event_ids(session, [e.id for e in events])
    for event in events:
        if event.id in known:
            continue
        known.add(event.id)
        row = AccessEvent(
            id=event.id,
            tenant_id=tenant_id,
            ref=event.ref,
            door=event.door,
            door_name=event.door_name,
            kind=event.kind,
            reason=event.reason,
            at=event.at,
            received_at=now,
        )
        try:
            # A concurrent retry of the same push may store it first: that is fine.
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            continue
    log.info("stored door events for tenant %s: %d received", tenant_id, len(events))
    return len(events)
