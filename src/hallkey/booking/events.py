"""Door events pushed by the hub, stored by ref so staff can see a booking was used.

A batch is taken partially: each event is checked on its own, good ones are stored (once per
tenant and event id), bad ones are listed with why, so one odd event never blocks the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hallkey.booking import repository as repo
from hallkey.booking.models import AccessEvent
from hallkey.booking.schemas import AccessEventIn
from hallkey.booking.service import enqueue_sync
from hallkey.core.batches import BatchAnswer, split_items

if TYPE_CHECKING:
    from hallkey.booking.context import BookingContext

log = logging.getLogger(__name__)


def record_access_events(
    ctx: BookingContext, session: Session, tenant_id: str, raw_events: Sequence[Any]
) -> BatchAnswer:
    """Stores the valid door events of a batch, each once per tenant; lists the invalid ones."""
    valid, rejected = split_items(raw_events, AccessEventIn)
    events = [event for _, event in valid]
    now = ctx.clock.now()
    known = repo.existing_event_ids(session, tenant_id, [e.id for e in events])
    refused_as_revoked: set[str] = set()
    for event in events:
        if event.id in known:
            continue
        known.add(event.id)
        if event.reason == "revoked" and event.ref is not None:
            refused_as_revoked.add(event.ref)
        row = AccessEvent(
            tenant_id=tenant_id,
            event_id=event.id,
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
    for ref in refused_as_revoked:
        _resync_if_shown_granted(ctx, session, tenant_id, ref)
    if rejected:
        # Indexes and codes only: an event's content may hold a ref a log must not link.
        log.warning(
            "door events for tenant %s: %d rejected (indexes %s)",
            tenant_id,
            len(rejected),
            ",".join(str(r.index) for r in rejected[:20]),
        )
    log.info("stored door events for tenant %s: %d accepted", tenant_id, len(events))
    return BatchAnswer(accepted=len(events), rejected=rejected)


def _resync_if_shown_granted(
    ctx: BookingContext, session: Session, tenant_id: str, ref: str
) -> None:
    """Asks the hub again about a reservation whose key a door has just refused as revoked
    while the reservation still shows it: the grant was revoked at the hub (not by this
    system's sync), and the next sync finds so and stops showing the key."""
    reservation = repo.reservation_by_ref(session, tenant_id, ref)
    if reservation is None or reservation.access_state != "granted":
        return
    enqueue_sync(ctx, session, reservation)
    log.info("reservation %s: its key was refused as revoked; asking the hub again", reservation.id)
