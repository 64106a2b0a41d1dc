"""Booking operations. Each takes the caller's session and never commits.

A change that the hub must learn about enqueues the `sync_access` job in the same
transaction (the jobs table is the outbox); the job pushes the reservation's current state.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hallkey.booking import domain
from hallkey.booking import repository as repo
from hallkey.booking.models import AccessEvent, Customer, Reservation
from hallkey.booking.schemas import (
    AccessEventIn,
    AccessOut,
    AvailabilityOut,
    CustomerExportOut,
    CustomerIn,
    CustomerOut,
    CustomerReservationOut,
    EventOut,
    FrameOut,
    ReservationCreate,
    ReservationMove,
    ReservationOut,
    ResourceOut,
)
from hallkey.core.errors import Conflict, InvalidInput, NotFound, Unauthorized
from hallkey.core.ids import new_id, new_ref
from hallkey.core.jobs import PRIORITY_REVOKE
from hallkey.core.security import parse_api_key, verify_secret

if TYPE_CHECKING:
    from hallkey.booking.context import BookingContext

log = logging.getLogger(__name__)

SYNC_ACCESS = "sync_access"
OVERLAP_CONSTRAINT = "booking_reservations_no_overlap"


def time_taken() -> Conflict:
    """Returns the error for a time frame that another reservation holds."""
    return Conflict("the resource is already reserved at that time", code="time_taken")


def conflict_from_integrity(exc: IntegrityError) -> Conflict:
    """Returns the 409 for a constraint violation found at flush or commit."""
    if OVERLAP_CONSTRAINT in str(exc.orig):
        return time_taken()
    return Conflict("the change conflicts with another one; try again")


def authenticate(session: Session, token: str) -> str:
    """Returns the tenant id of a booking API token; raises Unauthorized if it is not valid."""
    parsed = parse_api_key(token)
    if parsed is None:
        raise Unauthorized("invalid API token")
    key_id, secret = parsed
    found = repo.token_by_key_id(session, key_id)
    if found is None or not verify_secret(secret, found.secret_hash):
        raise Unauthorized("invalid API token")
    return found.tenant_id


def list_resources(session: Session) -> list[ResourceOut]:
    """Returns every bookable resource."""
    return [
        ResourceOut(
            id=resource.id,
            name=resource.name,
            venue=venue.name,
            timezone=venue.timezone,
            credential=resource.credential,
            access_before_minutes=resource.access_before_minutes,
            access_after_minutes=resource.access_after_minutes,
        )
        for resource, venue in repo.resources_with_venues(session)
    ]


def availability(
    session: Session, resource_id: str, start: datetime, end: datetime
) -> AvailabilityOut:
    """Returns the busy and free frames of a resource within `[start, end)`."""
    span = domain.validate_availability_range(start, end)
    resource = repo.resource(session, resource_id)
    if resource is None:
        raise NotFound("unknown resource", field="resource_id")
    venue = repo.venue(session, resource.venue_id)
    assert venue is not None  # a foreign key guarantees it
    busy = [
        domain.clip(domain.Frame(r.start_at, r.end_at), span)
        for r in repo.overlapping(session, resource.id, span.start, span.end)
    ]
    free = domain.free_frames(span, resource.opening_hours, domain.zone(venue.timezone), busy)
    return AvailabilityOut(
        resource_id=resource.id,
        from_=span.start,
        to=span.end,
        busy=[FrameOut(start=f.start, end=f.end) for f in domain.merge(busy)],
        free=[FrameOut(start=f.start, end=f.end) for f in free],
    )


def _upsert_customer(
    ctx: BookingContext, session: Session, tenant_id: str, data: CustomerIn
) -> str:
    now = ctx.clock.now()
    # Locked (on PostgreSQL) so that an erasure cannot slip in between this booking's check
    # and its commit; SQLite's write transactions are serial anyway.
    existing = repo.customer_by_email(session, tenant_id, data.email, lock=True)
    if existing is None:
        customer = Customer(
            id=new_id("cus"),
            tenant_id=tenant_id,
            name=data.name,
            phone=data.phone,
            email=data.email,
            organisation=data.organisation,
            org_number=data.org_number,
            created_at=now,
            updated_at=now,
        )
        try:
            # A concurrent booking may create the same customer; then we reuse theirs.
            with session.begin_nested():
                session.add(customer)
            return customer.id
        except IntegrityError:
            existing = repo.customer_by_email(session, tenant_id, data.email, lock=True)
            if existing is None:
                raise Conflict("the customer is being changed; try again") from None
    changes: dict[str, Any] = {"name": data.name, "phone": data.phone}
    if data.organisation is not None:
        changes["organisation"] = data.organisation
    if data.org_number is not None:
        changes["org_number"] = data.org_number
    # Only write when something changed.
    if any(getattr(existing, key) != value for key, value in changes.items()):
        for key, value in changes.items():
            setattr(existing, key, value)
        existing.updated_at = now
    return existing.id


def _check_frame(
    session: Session,
    resource_id: str,
    frame: domain.Frame,
    *,
    exclude_id: str | None = None,
) -> None:
    resource = repo.resource(session, resource_id)
    assert resource is not None
    venue = repo.venue(session, resource.venue_id)
    assert venue is not None
    domain.check_opening_hours(frame, resource.opening_hours, domain.zone(venue.timezone))
    if repo.overlapping(session, resource_id, frame.start, frame.end, exclude_id=exclude_id):
        raise time_taken()


def _flush(session: Session) -> None:
    try:
        session.flush()
    except IntegrityError as exc:
        raise conflict_from_integrity(exc) from exc


def create_reservation(
    ctx: BookingContext, session: Session, tenant_id: str, data: ReservationCreate
) -> Reservation:
    """Returns a new reservation after checking its frame, opening hours and conflicts."""
    resource = repo.resource(session, data.resource_id)
    if resource is None or resource.tenant_id != tenant_id:
        raise NotFound("unknown resource", field="resource_id")
    credential = (data.access.credential if data.access else None) or resource.credential
    if credential != resource.credential:
        raise InvalidInput(
            f"this resource's doors open with {resource.credential}",
            field="access.credential",
        )
    now = ctx.clock.now()
    frame = domain.validate_frame(data.start, data.end, now)
    _check_frame(session, resource.id, frame)
    customer_id = _upsert_customer(ctx, session, tenant_id, data.customer)
    status = "requested" if resource.approval_required else "confirmed"
    reservation = Reservation(
        id=new_id("bkg"),
        tenant_id=tenant_id,
        resource_id=resource.id,
        customer_id=customer_id,
        contact_name=data.customer.name,
        contact_phone=data.customer.phone,
        contact_email=data.customer.email,
        ref=new_ref(),
        status=status,
        start_at=frame.start,
        end_at=frame.end,
        version=1,
        access_state="pending",
        access_credential=credential,
        created_at=now,
        updated_at=now,
    )
    session.add(reservation)
    _flush(session)
    if status == "confirmed":
        ctx.jobs.enqueue(session, SYNC_ACCESS, {"reservation_id": reservation.id}, peer="hub")
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
    _flush(session)
    # Access taken away (cancelled, denied) is synced before access given.
    priority = PRIORITY_REVOKE if reservation.status != "confirmed" else 0
    payload = {"reservation_id": reservation.id}
    ctx.jobs.enqueue(session, SYNC_ACCESS, payload, peer="hub", priority=priority)


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
    frame = domain.validate_frame(start, end, ctx.clock.now())
    _check_frame(session, reservation.resource_id, frame, exclude_id=reservation.id)
    reservation.start_at = frame.start
    reservation.end_at = frame.end
    _changed(ctx, session, reservation)
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
    reservation.status = "cancelled"
    _changed(ctx, session, reservation)
    log.info("reservation %s cancelled", reservation.id)
    return reservation


def decide_reservation(
    ctx: BookingContext,
    session: Session,
    tenant_id: str,
    reservation_id: str,
    *,
    approve: bool,
) -> Reservation:
    """Returns a requested reservation confirmed (approve) or denied; repeats change nothing."""
    reservation = get_reservation(session, tenant_id, reservation_id, lock=True)
    target = "confirmed" if approve else "denied"
    if reservation.status == target:
        return reservation
    if reservation.status != "requested":
        raise Conflict(f"a {reservation.status} reservation cannot be {target}", code="not_open")
    if approve and reservation.end_at <= ctx.clock.now():
        raise Conflict("the reservation is already over; it can only be denied", code="ended")
    reservation.status = target
    _changed(ctx, session, reservation)
    log.info("reservation %s %s", reservation.id, target)
    return reservation


def open_access_secret(ctx: BookingContext, sealed: str | None) -> dict[str, str]:
    """Returns the stored credential (code, link…) of a reservation."""
    if sealed is None:
        return {}
    data = json.loads(ctx.box.open(sealed))
    return {str(key): str(value) for key, value in data.items() if value is not None}


def reservation_view(
    ctx: BookingContext, session: Session, reservation: Reservation
) -> ReservationOut:
    """Returns the API view of a reservation, with its credential and door events."""
    secret = open_access_secret(ctx, reservation.access_secret_sealed)
    access = AccessOut(
        state=reservation.access_state,
        credential=reservation.access_credential,
        code=secret.get("code"),
        code_formatted=secret.get("code_formatted"),
        url=secret.get("url"),
        mobile_key=secret.get("mobile_key"),
        error=reservation.access_error,
    )
    return ReservationOut(
        id=reservation.id,
        ref=reservation.ref,
        status=reservation.status,
        resource_id=reservation.resource_id,
        start=reservation.start_at,
        end=reservation.end_at,
        version=reservation.version,
        customer=CustomerOut(
            id=reservation.customer_id,
            name=reservation.contact_name,
            phone=reservation.contact_phone,
            email=reservation.contact_email,
        ),
        access=access,
        events=[
            EventOut(at=e.at, door=e.door, door_name=e.door_name, kind=e.kind, reason=e.reason)
            for e in repo.events_of(session, reservation.tenant_id, reservation.ref)
        ],
    )


def _tenant_customer(
    session: Session, tenant_id: str, customer_id: str, *, lock: bool = False
) -> Customer:
    customer = repo.customer(session, customer_id, lock=lock)
    if customer is None or customer.tenant_id != tenant_id:
        raise NotFound("unknown customer", field="customer_id")
    return customer


def export_customer(session: Session, tenant_id: str, customer_id: str) -> CustomerExportOut:
    """Returns everything stored about one of the tenant's customers."""
    customer = _tenant_customer(session, tenant_id, customer_id)
    return CustomerExportOut(
        id=customer.id,
        name=customer.name,
        phone=customer.phone,
        email=customer.email,
        organisation=customer.organisation,
        org_number=customer.org_number,
        created_at=customer.created_at,
        erased_at=customer.erased_at,
        reservations=[
            CustomerReservationOut(
                id=r.id,
                ref=r.ref,
                contact_name=r.contact_name,
                contact_phone=r.contact_phone,
                contact_email=r.contact_email,
                status=r.status,
                resource_id=r.resource_id,
                start=r.start_at,
                end=r.end_at,
            )
            for r in repo.reservations_of_customer(session, customer.id)
        ],
    )


def erase_customer(
    ctx: BookingContext, session: Session, tenant_id: str, customer_id: str
) -> CustomerExportOut:
    """Deletes a customer's personal data, keeping the reservations and their refs.

    Refused while a reservation is requested or confirmed and not yet over: the guest would
    silently lose the key they were promised. Cancel those first. Erasing twice is harmless.
    """
    customer = _tenant_customer(session, tenant_id, customer_id, lock=True)
    now = ctx.clock.now()
    if customer.erased_at is None:
        if repo.customer_has_open_reservations(session, customer.id, now):
            raise Conflict(
                "the customer has reservations that are not over; cancel them first",
                code="customer_has_open_reservations",
            )
        customer.name = customer.phone = customer.email = None
        customer.organisation = customer.org_number = None
        customer.erased_at = customer.updated_at = now
        for reservation in repo.reservations_of_customer(session, customer.id):
            reservation.contact_name = None
            reservation.contact_phone = reservation.contact_email = None
        session.flush()
        log.info("customer %s erased", customer.id)
    return export_customer(session, tenant_id, customer_id)


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
