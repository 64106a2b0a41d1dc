"""Customers: found (or created) by a booking's e-mail, exported and erased."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hallkey.booking import office_repository as office_repo
from hallkey.booking import repository as repo
from hallkey.booking import rounds, series_store
from hallkey.booking.models import Customer
from hallkey.booking.schemas import (
    ContactOut,
    CustomerExportOut,
    CustomerIn,
    CustomerReservationOut,
)
from hallkey.core.errors import Conflict, NotFound
from hallkey.core.ids import new_id

if TYPE_CHECKING:
    from hallkey.booking.context import BookingContext

log = logging.getLogger(__name__)


def attach_customer(
    ctx: BookingContext,
    session: Session,
    tenant_id: str,
    data: CustomerIn,
    *,
    proven: str | None = None,
) -> tuple[Customer, bool]:
    """Returns the customer a booking belongs to (by e-mail), and whether the booking's
    contact is that customer's own. The row is returned, not its id: the booking reads its
    price group next, and the session's identity map is weak (an id would read it again).

    A booking proves nothing about who makes it. So it creates the customer when the e-mail is
    new, and otherwise is only linked to the existing customer: it never changes their name,
    phone or organisation (those change only through a proven path: staff, or the signed-in
    customer booking with their own e-mail, `proven` being their id). When the booker gave
    another name or phone, the link is marked (`contact_is_customer` false): the reservation
    keeps its own contact for its key, and the customer's export lists it as made with their
    e-mail, without the booker's data.
    """
    now = ctx.clock.now()
    # Locked (on PostgreSQL) so that an erasure cannot slip in between this booking's check
    # and its commit; SQLite's write transactions are serial anyway. A shared lock: erasure
    # takes the row for update and waits, but two bookings of one customer (a club booking a
    # season) do not wait for each other. A signed-in customer's booking may change their
    # record: it takes the row for update at once (two upgrades of shared locks would deadlock).
    share = proven is None
    existing = repo.customer_by_email(session, tenant_id, data.email, lock=True, share=share)
    if existing is None:
        customer = Customer(
            id=new_id("cus"),
            tenant_id=tenant_id,
            name=data.name,
            phone=data.phone,
            email=data.email,
            organisation=data.organisation,
            org_number=data.org_number,
            kind="organisation" if data.org_number else "person",
            created_at=now,
            updated_at=now,
        )
        try:
            # A concurrent booking may create the same customer; then we link to theirs.
            with session.begin_nested():
                session.add(customer)
            return customer, True
        except IntegrityError:
            existing = repo.customer_by_email(
                session, tenant_id, data.email, lock=True, share=share
            )
            if existing is None:
                raise Conflict("the customer is being changed; try again") from None
    if proven is not None and proven == existing.id and existing.erased_at is None:
        # The signed-in customer booking for themselves: their record follows what they give.
        existing.name, existing.phone = data.name, data.phone
        existing.updated_at = now
        return existing, True
    own = (existing.name, existing.phone) == (data.name, data.phone)
    return existing, own


def group_requires_approval(session: Session, tenant_id: str, customer: Customer) -> bool:
    """Tells whether the customer's price group requires every booking to be approved."""
    if customer.price_group is None:
        return False
    group = office_repo.price_group(session, tenant_id, customer.price_group)
    return group is not None and group.requires_approval


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
        kind=customer.kind,
        price_group=customer.price_group,
        contacts=[
            ContactOut(id=c.id, name=c.name, phone=c.phone, email=c.email)
            for c in office_repo.contacts_of(session, [customer.id])[customer.id]
        ],
        created_at=customer.created_at,
        erased_at=customer.erased_at,
        reservations=[
            CustomerReservationOut(
                id=r.id,
                ref=r.ref,
                # Someone else's name and phone are not this customer's data to see.
                contact_name=r.contact_name if r.contact_is_customer else None,
                contact_phone=r.contact_phone if r.contact_is_customer else None,
                contact_email=r.contact_email,
                contact_withheld=not r.contact_is_customer,
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
        rounds.erase_applicant(session, tenant_id, customer.id, customer.email)
        customer.name = customer.phone = customer.email = None
        customer.organisation = customer.org_number = None
        customer.erased_at = customer.updated_at = now
        office_repo.delete_contacts(session, customer.id)
        office_repo.delete_sign_ins(session, customer.id)
        for reservation in repo.reservations_of_customer(session, customer.id):
            reservation.contact_name = None
            reservation.contact_phone = reservation.contact_email = None
        for series in series_store.series_of_customer(session, customer.id):
            series.contact_name = None
            series.contact_phone = series.contact_email = None
        session.flush()
        log.info("customer %s erased", customer.id)
    return export_customer(session, tenant_id, customer_id)
