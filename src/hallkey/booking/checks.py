"""The one check of a booking against its resource's rules, which every booking path calls
(a new reservation, a move; later series and pages).

The rules themselves are pure functions (`hallkey.booking.rules`, `domain`); this module
reads what they need from the database: the resource and its venue's time zone, the
customer's open bookings, the reservations that hold the time.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from sqlalchemy.orm import Session

from hallkey.booking import domain, rules
from hallkey.booking import repository as repo
from hallkey.booking.models import Reservation, Resource
from hallkey.core.errors import Conflict


def time_taken() -> Conflict:
    """Returns the error for a time frame that another reservation holds."""
    return Conflict("the resource is already reserved at that time", code="time_taken")


def rules_of(resource: Resource) -> rules.ResourceRules:
    """Returns the resource's rules as the pure functions take them."""
    return rules.ResourceRules(
        min_minutes=resource.min_booking_minutes,
        max_minutes=resource.max_booking_minutes,
        horizon_days=resource.horizon_days,
        slot_minutes=resource.slot_minutes,
        lead_minutes=resource.lead_minutes,
        buffer_minutes=resource.buffer_minutes,
        closed=rules.closed_periods(resource.closed_periods),
        public_holidays_closed=resource.public_holidays_closed,
        max_open_bookings=resource.max_open_bookings,
        free_cancellation_hours=resource.free_cancellation_hours,
    )


def hold_customer(session: Session, tenant_id: str, resource: Resource, email: str) -> None:
    """Serialises the bookings of one customer (by e-mail) before one counts their open
    bookings, when the resource limits them: two at once then count one after the other, also
    for a customer not stored yet (whose row there is nothing to lock of)."""
    if resource.max_open_bookings is not None:
        repo.lock_customer_bookings(session, tenant_id, email)


def check_booking_rules(
    session: Session,
    resource: Resource,
    frame: domain.Frame,
    now: datetime,
    *,
    customer_id: str | None = None,
    moving: Reservation | None = None,
    horizon: bool = True,
) -> datetime:
    """Raises the first rule the frame breaks (422 naming it) or 409 when its time is taken;
    returns the end of the time the booking holds (its end and the resource's buffer).

    `customer_id`: the booking's customer, whose open bookings of the resource are counted
    (a new booking). `moving`: the reservation being moved, which does not count against
    itself; the lead time applies only when its start changes. `horizon=False`: how far
    ahead is not checked (a series' later occurrences; its first one is).
    """
    resource_rules = rules_of(resource)
    if not horizon:
        resource_rules = dataclasses.replace(resource_rules, horizon_days=rules.NO_HORIZON_DAYS)
    venue = repo.venue(session, resource.venue_id)
    assert venue is not None  # a foreign key guarantees it
    new_start = moving is None or moving.start_at != frame.start
    rules.check_frame(
        frame,
        resource_rules,
        resource.opening_hours,
        domain.zone(venue.timezone),
        now,
        new_start=new_start,
    )
    if customer_id is not None and resource_rules.max_open_bookings is not None:
        count = repo.open_bookings_count(session, resource.id, customer_id, now)
        rules.check_open_bookings(count, resource_rules.max_open_bookings)
    block_end = rules.block_end(frame.end, resource_rules.buffer_minutes)
    exclude_id = moving.id if moving is not None else None
    repo.lock_resource_bookings(session, resource.id)
    if repo.overlapping(session, resource.id, frame.start, block_end, exclude_id=exclude_id):
        raise time_taken()
    return block_end
