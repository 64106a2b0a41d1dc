"""Customers as staff keep them: persons and organisations (with their org number and contact
persons), each with a price group; found by e-mail, name or org number.

Staff are a proven path: what they set changes the customer's record (a booking by e-mail
alone never does, see `customers.attach_customer`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hallkey.booking import office_repository as office_repo
from hallkey.booking import repository as repo
from hallkey.booking.desk import decode_cursor, encode_cursor
from hallkey.booking.models import Customer, CustomerContact
from hallkey.booking.office_schemas import (
    ContactIn,
    CustomerCreate,
    CustomerPageOut,
    CustomerPatch,
    CustomerRecordOut,
)
from hallkey.booking.price_groups import check_group
from hallkey.booking.schemas import ContactOut
from hallkey.core.errors import Conflict, InvalidInput, NotFound
from hallkey.core.ids import new_id

if TYPE_CHECKING:
    from hallkey.booking.context import BookingContext


def record_out(customer: Customer, contacts: list[CustomerContact]) -> CustomerRecordOut:
    """Returns a customer as staff see it."""
    return CustomerRecordOut(
        id=customer.id,
        kind="organisation" if customer.kind == "organisation" else "person",
        name=customer.name,
        phone=customer.phone,
        email=customer.email,
        organisation=customer.organisation,
        org_number=customer.org_number,
        price_group=customer.price_group,
        contacts=[ContactOut(id=c.id, name=c.name, phone=c.phone, email=c.email) for c in contacts],
        created_at=customer.created_at,
        updated_at=customer.updated_at,
        erased_at=customer.erased_at,
    )


def _tenant_customer(session: Session, tenant_id: str, customer_id: str) -> Customer:
    customer = repo.customer(session, customer_id, lock=True)
    if customer is None or customer.tenant_id != tenant_id:
        raise NotFound("unknown customer", field="customer_id")
    return customer


def _set_contacts(
    ctx: BookingContext, session: Session, customer: Customer, contacts: list[ContactIn]
) -> None:
    office_repo.delete_contacts(session, customer.id)
    now = ctx.clock.now()
    for contact in contacts:
        session.add(
            CustomerContact(
                id=new_id("cct"),
                customer_id=customer.id,
                name=contact.name,
                phone=contact.phone,
                email=contact.email,
                created_at=now,
            )
        )


def _check_kind(kind: str, org_number: str | None, has_contacts: bool) -> None:
    """Raises InvalidInput unless an organisation has its org number and a person has neither
    an org number nor contact persons."""
    if kind == "organisation" and org_number is None:
        raise InvalidInput("an organisation needs its organisation number", field="org_number")
    if kind == "person" and (org_number is not None or has_contacts):
        raise InvalidInput(
            "only an organisation has an org number and contact persons", field="kind"
        )


def get_customer(session: Session, tenant_id: str, customer_id: str) -> CustomerRecordOut:
    """Returns one of the tenant's customers with their contact persons."""
    customer = repo.customer(session, customer_id)
    if customer is None or customer.tenant_id != tenant_id:
        raise NotFound("unknown customer", field="customer_id")
    return record_out(customer, office_repo.contacts_of(session, [customer.id])[customer.id])


def create_customer(
    ctx: BookingContext, session: Session, tenant_id: str, body: CustomerCreate
) -> CustomerRecordOut:
    """Returns a new customer; an e-mail already a customer's is a 409 (`customer_exists`)."""
    _check_kind(body.kind, body.org_number, bool(body.contacts))
    check_group(session, tenant_id, body.price_group, "price_group")
    if repo.customer_by_email(session, tenant_id, body.email) is not None:
        raise Conflict("a customer with this e-mail exists", code="customer_exists", field="email")
    now = ctx.clock.now()
    customer = Customer(
        id=new_id("cus"),
        tenant_id=tenant_id,
        kind=body.kind,
        name=body.name,
        phone=body.phone,
        email=body.email,
        organisation=body.organisation,
        org_number=body.org_number,
        price_group=body.price_group,
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(customer)
    except IntegrityError:
        raise Conflict(
            "a customer with this e-mail exists", code="customer_exists", field="email"
        ) from None
    _set_contacts(ctx, session, customer, body.contacts or [])
    session.flush()
    return get_customer(session, tenant_id, customer.id)


def update_customer(
    ctx: BookingContext, session: Session, tenant_id: str, customer_id: str, body: CustomerPatch
) -> CustomerRecordOut:
    """Returns the customer with the given fields changed (`price_group: null` clears it;
    `contacts` replaces them all). An erased customer is not changed (409)."""
    customer = _tenant_customer(session, tenant_id, customer_id)
    if customer.erased_at is not None:
        raise Conflict("the customer is erased", code="customer_erased")
    given = body.model_fields_set
    if "price_group" in given:
        check_group(session, tenant_id, body.price_group, "price_group")
        customer.price_group = body.price_group
    for name in ("kind", "name", "phone", "organisation", "org_number"):
        value = getattr(body, name)
        if value is not None:
            setattr(customer, name, value)
    if body.contacts is not None:
        _set_contacts(ctx, session, customer, body.contacts)
    session.flush()
    has_contacts = bool(office_repo.contacts_of(session, [customer.id])[customer.id])
    _check_kind(customer.kind, customer.org_number, has_contacts)
    customer.updated_at = ctx.clock.now()
    session.flush()
    return get_customer(session, tenant_id, customer.id)


def search_customers(
    session: Session, where: office_repo.CustomerFilter, *, cursor: str | None, limit: int
) -> CustomerPageOut:
    """Returns a page of the tenant's customers matching the search, by id."""
    after = decode_cursor(cursor, 1)[0] if cursor is not None else None
    found = office_repo.customer_page(session, where, after=after, limit=limit + 1)
    page = list(found[:limit])
    contacts = office_repo.contacts_of(session, [c.id for c in page])
    next_cursor = encode_cursor([page[-1].id]) if len(found) > limit else None
    return CustomerPageOut(
        items=[record_out(c, contacts[c.id]) for c in page], next_cursor=next_cursor
    )
