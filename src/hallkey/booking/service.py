"""Booking operations. Each takes the caller's session and never commits.

A change that the hub must learn about enqueues the `sync_access` job in the same
transaction (the jobs table is the outbox); the job pushes the reservation's current state.

A reservation is checked against all its resource's rules, then for conflicts, by the one
check every booking path calls (`checks.check_booking_rules`). Booking with an e-mail proves
nothing: a booking with an existing customer's e-mail is linked to that customer but never
changes their record; when its name or phone differ it is marked so, and the customer's export
lists it without the booker's name and phone (`customers.attach_customer`). The reservation
keeps its own contact, which is where its key goes.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hallkey.booking import checks, customers, domain, emails, prices, rules, series_store
from hallkey.booking import repository as repo
from hallkey.booking.checks import time_taken
from hallkey.booking.models import Reservation, Resource
from hallkey.booking.schemas import (
    ReservationCreate,
    ReservationMove,
)
from hallkey.core.errors import Conflict, InvalidInput, NotFound
from hallkey.core.ids import new_id, new_ref
from hallkey.core.jobs import PRIORITY_REVOKE

if TYPE_CHECKING:
    from hallkey.booking.context import BookingContext

log = logging.getLogger(__name__)

SYNC_ACCESS = "sync_access"
OVERLAP_CONSTRAINT = "booking_reservations_no_overlap"


def conflict_from_integrity(exc: IntegrityError) -> Conflict:
    """Returns the 409 for a constraint violation found at flush or commit."""
    if OVERLAP_CONSTRAINT in str(exc.orig):
        return time_taken()
    return Conflict("the change conflicts with another one; try again")


def _flush(session: Session) -> None:
    try:
        session.flush()
    except IntegrityError as exc:
        raise conflict_from_integrity(exc) from exc


def create_reservation(
    ctx: BookingContext,
    session: Session,
    tenant_id: str,
    data: ReservationCreate,
    *,
    proven: str | None = None,
    reservation_id: str | None = None,
) -> Reservation:
    """Returns a new reservation after checking its frame, opening hours and conflicts; it is
    `requested` when its resource or its customer's price group requires approval.

    `proven`: the id of the customer the caller has proven to be (signed in); a booking by
    them with their own e-mail updates their name and phone. `reservation_id`: an id the
    caller made beforehand with `new_id("bkg")` (a form's one-time token names it, so that
    a form sent twice books once); by default a new one."""
    resource = repo.resource(session, data.resource_id)
    if resource is None or resource.tenant_id != tenant_id:
        raise NotFound("unknown resource", field="resource_id")
    if not resource.active:
        raise InvalidInput("this resource takes no new bookings", field="resource_id")
    credential = (data.access.credential if data.access else None) or resource.credential
    if credential != resource.credential:
        raise InvalidInput(
            f"this resource's doors open with {resource.credential}",
            field="access.credential",
        )
    now = ctx.clock.now()
    frame = domain.validate_frame(data.start, data.end, now)
    checks.hold_customer(session, tenant_id, resource, data.customer.email)
    customer, contact_is_customer = customers.attach_customer(
        ctx, session, tenant_id, data.customer, proven=proven
    )
    block_end = checks.check_booking_rules(session, resource, frame, now, customer_id=customer.id)
    needs_approval = resource.approval_required or customers.group_requires_approval(
        session, tenant_id, customer
    )
    status = "requested" if needs_approval else "confirmed"
    reservation = Reservation(
        id=reservation_id or new_id("bkg"),
        tenant_id=tenant_id,
        resource_id=resource.id,
        customer_id=customer.id,
        contact_name=data.customer.name,
        contact_phone=data.customer.phone,
        contact_email=data.customer.email,
        contact_is_customer=contact_is_customer,
        ref=new_ref(),
        status=status,
        start_at=frame.start,
        end_at=frame.end,
        block_end_at=block_end,
        version=1,
        access_state="pending",
        access_credential=credential,
        locale=data.locale,
        created_at=now,
        updated_at=now,
    )
    # The group staff or an integration name; else the customer's own (set by staff) where
    # the resource has a price in it; else the default. Self-service bookings cannot name one
    # (office_api.book_as_me).
    group = data.price_group
    if group is None:
        own = customer.price_group
        group = own if own is not None and prices.offers(session, resource.id, own) else None
    prices.price_reservation(session, reservation, group)
    session.add(reservation)
    if status == "confirmed":
        enqueue_sync(ctx, session, reservation)  # before the flush: its mark goes in the INSERT
    _flush(session)
    emails.enqueue(ctx, session, reservation, "received" if status == "requested" else "confirmed")
    log.info("reservation %s (%s) created on %s", reservation.id, status, resource.id)
    return reservation


def get_reservation(
    session: Session, tenant_id: str, reservation_id: str, *, lock: bool = False
) -> Reservation:
    """Returns the tenant's reservation; raises NotFound for another tenant's."""
    reservation = repo.reservation(session, reservation_id, lock=lock)
    if reservation is None or reservation.tenant_id != tenant_id:
        raise NotFound("unknown reservation")
    return reservation


def _changed(ctx: BookingContext, session: Session, reservation: Reservation) -> None:
    reservation.version += 1
    reservation.updated_at = ctx.clock.now()
    if reservation.series_id is not None:
        # An occurrence has no grant of its own: the series' one grant follows it.
        _flush(session)
        taking_away = reservation.status != "confirmed"
        series_store.occurrence_changed(
            ctx, session, reservation.series_id, taking_away=taking_away
        )
        _flush(session)
        return
    # The access shown so far is what the hub confirmed for the previous version (another
    # time, or a booking still on): no code is shown until the hub confirms this one.
    reservation.access_state = "pending"
    reservation.access_secret_sealed = None
    reservation.access_error = None
    # Access taken away (cancelled, denied) is synced before access given.
    priority = PRIORITY_REVOKE if reservation.status != "confirmed" else 0
    enqueue_sync(ctx, session, reservation, priority=priority)
    _flush(session)


def enqueue_sync(
    ctx: BookingContext, session: Session, reservation: Reservation, *, priority: int = 0
) -> None:
    """Queues the push of the reservation's access to the hub (state-based: any number of
    pushes is fine).

    A confirmed reservation is marked as asked for a grant in the transaction that queues its
    push, before any call can reach the hub: from then on a cancel revokes there, even if the
    grant call's answer is lost. (Marking it later, in the push, took a write transaction of
    its own on every booking.)"""
    if reservation.status == "confirmed" and reservation.access_requested_at is None:
        reservation.access_requested_at = ctx.clock.now()
    payload = {"reservation_id": reservation.id}
    ctx.jobs.enqueue(session, SYNC_ACCESS, payload, peer="hub", priority=priority)


def resync_resource_access(ctx: BookingContext, session: Session, resource: Resource) -> int:
    """Syncs again every confirmed reservation of the resource whose access has not yet ended
    (its doors or access minutes changed, and the keys follow); returns how many."""
    after = timedelta(minutes=resource.access_after_minutes)
    ending_after = ctx.clock.now() - after
    found = repo.confirmed_reservations_of(
        session, resource.id, ending_after=ending_after, lock=True
    )
    series_ids: set[str] = set()
    for reservation in found:
        if reservation.series_id is not None:
            series_ids.add(reservation.series_id)  # one push for the series' one grant
        else:
            _changed(ctx, session, reservation)
    for series_id in sorted(series_ids):
        series_store.occurrence_changed(ctx, session, series_id, taking_away=False)
    return len(found)


def move_reservation(
    ctx: BookingContext,
    session: Session,
    tenant_id: str,
    reservation_id: str,
    data: ReservationMove,
) -> Reservation:
    """Returns the reservation moved to a new frame (same checks as a new one)."""
    reservation = get_reservation(session, tenant_id, reservation_id, lock=True)
    if reservation.status not in domain.BLOCKING_STATUSES:
        raise Conflict(f"a {reservation.status} reservation cannot be moved", code="not_movable")
    start = data.start or reservation.start_at
    end = data.end or reservation.end_at
    if (start, end) == (reservation.start_at, reservation.end_at):
        return reservation
    now = ctx.clock.now()
    frame = domain.validate_frame(start, end, now)
    resource = repo.resource(session, reservation.resource_id)
    assert resource is not None  # a foreign key guarantees it
    block_end = checks.check_booking_rules(session, resource, frame, now, moving=reservation)
    # The frame and its buffered end change together: pricing reads the database, and an
    # autoflush between them would write a range that ends before it starts.
    reservation.start_at = frame.start
    reservation.end_at = frame.end
    reservation.block_end_at = block_end
    prices.price_reservation(session, reservation, reservation.price_group, moved=True)
    _changed(ctx, session, reservation)
    emails.enqueue(ctx, session, reservation, "changed")
    log.info("reservation %s moved (version %d)", reservation.id, reservation.version)
    return reservation


def cancel_reservation(
    ctx: BookingContext, session: Session, tenant_id: str, reservation_id: str
) -> Reservation:
    """Returns the reservation cancelled; cancelling twice changes nothing."""
    reservation = get_reservation(session, tenant_id, reservation_id, lock=True)
    if reservation.status == "cancelled":
        return reservation
    if reservation.status == "denied":
        raise Conflict("a denied reservation cannot be cancelled", code="not_cancellable")
    resource = repo.resource(session, reservation.resource_id)
    assert resource is not None  # a foreign key guarantees it
    # Only a confirmed booking is charged: a request was never accepted.
    reservation.cancellation_charged = reservation.status == "confirmed" and (
        rules.cancellation_charged(
            reservation.start_at, ctx.clock.now(), resource.free_cancellation_hours
        )
    )
    reservation.status = "cancelled"
    _changed(ctx, session, reservation)
    emails.enqueue(ctx, session, reservation, "cancelled")
    log.info("reservation %s cancelled", reservation.id)
    return reservation


def decide_reservation(
    ctx: BookingContext,
    session: Session,
    tenant_id: str,
    reservation_id: str,
    *,
    approve: bool,
    actor: str,
    reason: str | None = None,
) -> Reservation:
    """Returns a requested reservation confirmed (approve) or denied, recording who decided,
    when and why; a repeat changes nothing (the first decision stays), the opposite decision
    is a 409."""
    reservation = get_reservation(session, tenant_id, reservation_id, lock=True)
    target = "confirmed" if approve else "denied"
    if reservation.status == target:
        return reservation
    if reservation.series_id is not None:
        raise Conflict(
            "an occurrence of a series is decided with its series", code="decided_by_series"
        )
    if reservation.status != "requested":
        raise Conflict(f"a {reservation.status} reservation cannot be {target}", code="not_open")
    if approve and reservation.end_at <= ctx.clock.now():
        raise Conflict("the reservation is already over; it can only be denied", code="ended")
    reservation.status = target
    reservation.decided_by = actor
    reservation.decided_at = ctx.clock.now()
    reservation.decision_reason = reason
    _changed(ctx, session, reservation)
    emails.enqueue(ctx, session, reservation, "approved" if approve else "denied")
    log.info("reservation %s %s", reservation.id, target)
    return reservation
