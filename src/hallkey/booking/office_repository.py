"""Database queries of the approval desk, price groups, customers' records and sign-ins."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from hallkey.booking.models import (
    Customer,
    CustomerContact,
    CustomerSignIn,
    PriceGroup,
    Reservation,
    Resource,
)
from hallkey.booking.provisioning import MAX_BOOKING_MINUTES_LIMIT


@dataclass(frozen=True)
class ReservationFilter:
    """What the staff's reservation list is limited to; None means any."""

    tenant_id: str
    venue_ids: frozenset[str] | None = None  # the caller's venues (a caretaker's)
    status: str | None = None
    resource_id: str | None = None
    venue_id: str | None = None
    customer_id: str | None = None
    start_before: datetime | None = None  # `to`: starts before it
    end_after: datetime | None = None  # `from`: ends after it


def reservation_page(
    session: Session,
    where: ReservationFilter,
    *,
    after: tuple[datetime, str] | None,
    limit: int,
) -> Sequence[tuple[Reservation, str]]:
    """Returns up to `limit` reservations (with their venue ids) by (start_at, id) after the
    cursor. The tenant's (tenant_id, [status,] start_at, id) indexes give the order; the
    other filters narrow it."""
    query = (
        select(Reservation, Resource.venue_id)
        .join(Resource, Resource.id == Reservation.resource_id)
        .where(Reservation.tenant_id == where.tenant_id)
    )
    if where.venue_ids is not None:
        query = query.where(Resource.venue_id.in_(sorted(where.venue_ids)))
    if where.status is not None:
        query = query.where(Reservation.status == where.status)
    if where.resource_id is not None:
        query = query.where(Reservation.resource_id == where.resource_id)
    if where.venue_id is not None:
        query = query.where(Resource.venue_id == where.venue_id)
    if where.customer_id is not None:
        query = query.where(Reservation.customer_id == where.customer_id)
    if where.start_before is not None:
        query = query.where(Reservation.start_at < where.start_before)
    if where.end_after is not None:
        # No reservation is longer than a resource may allow, so one ending after `from`
        # started at most that long before it: a bound the start_at index can use.
        earliest = where.end_after - timedelta(minutes=MAX_BOOKING_MINUTES_LIMIT)
        query = query.where(Reservation.end_at > where.end_after, Reservation.start_at > earliest)
    if after is not None:
        start, last_id = after
        # `start_at >= start` on its own too: the index's range; the OR alone scans.
        query = query.where(
            Reservation.start_at >= start,
            or_(Reservation.start_at > start, Reservation.id > last_id),
        )
    query = query.order_by(Reservation.start_at, Reservation.id).limit(limit)
    return [(row[0], row[1]) for row in session.execute(query).all()]


def price_groups(session: Session, tenant_id: str) -> Sequence[PriceGroup]:
    """Returns the tenant's price groups by key."""
    query = select(PriceGroup).where(PriceGroup.tenant_id == tenant_id)
    return session.scalars(query.order_by(PriceGroup.key)).all()


def price_group(session: Session, tenant_id: str, key: str) -> PriceGroup | None:
    """Returns the tenant's price group with this key (unique (tenant_id, key))."""
    query = select(PriceGroup).where(PriceGroup.tenant_id == tenant_id, PriceGroup.key == key)
    return session.scalars(query).first()


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass(frozen=True)
class CustomerFilter:
    """What a customer search looks for; None means any."""

    tenant_id: str
    text: str | None = None  # in the e-mail, name or organisation, case-insensitive
    org_number: str | None = None
    kind: str | None = None
    price_group: str | None = None


def customer_page(
    session: Session, where: CustomerFilter, *, after: str | None, limit: int
) -> Sequence[Customer]:
    """Returns up to `limit` of the tenant's customers by id after `after` that match."""
    tenant_id, text, org_number = where.tenant_id, where.text, where.org_number
    kind, price_group = where.kind, where.price_group
    query = select(Customer).where(Customer.tenant_id == tenant_id)
    if text is not None:
        pattern = _like(text)
        query = query.where(
            or_(
                func.lower(Customer.email).like(pattern, escape="\\"),
                func.lower(Customer.name).like(pattern, escape="\\"),
                func.lower(Customer.organisation).like(pattern, escape="\\"),
            )
        )
    if org_number is not None:
        query = query.where(Customer.org_number == org_number)
    if kind is not None:
        query = query.where(Customer.kind == kind)
    if price_group is not None:
        query = query.where(Customer.price_group == price_group)
    if after is not None:
        query = query.where(Customer.id > after)
    return session.scalars(query.order_by(Customer.id).limit(limit)).all()


def contacts_of(session: Session, customer_ids: Sequence[str]) -> dict[str, list[CustomerContact]]:
    """Returns the contact persons of these customers, by customer id (in the order added)."""
    found: dict[str, list[CustomerContact]] = {cid: [] for cid in customer_ids}
    if not customer_ids:
        return found
    query = select(CustomerContact).where(CustomerContact.customer_id.in_(customer_ids))
    for contact in session.scalars(query.order_by(CustomerContact.created_at, CustomerContact.id)):
        found[contact.customer_id].append(contact)
    return found


def delete_contacts(session: Session, customer_id: str) -> None:
    """Deletes a customer's contact persons."""
    session.execute(delete(CustomerContact).where(CustomerContact.customer_id == customer_id))


def delete_sign_ins(session: Session, customer_id: str) -> None:
    """Deletes a customer's sign-in links and sessions (they are signed out)."""
    session.execute(delete(CustomerSignIn).where(CustomerSignIn.customer_id == customer_id))


def sign_in_by_hash(
    session: Session, token_hash: str, kind: str, *, lock: bool = False
) -> CustomerSignIn | None:
    """Returns the sign-in link or session whose token hashes to `token_hash` (unique index)."""
    query = select(CustomerSignIn).where(
        CustomerSignIn.token_hash == token_hash, CustomerSignIn.kind == kind
    )
    if lock:
        query = query.with_for_update()
    return session.scalars(query).first()


def delete_expired_sign_ins(session: Session, now: datetime) -> int:
    """Deletes the sign-in links and sessions that have expired; returns how many."""
    result = session.execute(delete(CustomerSignIn).where(CustomerSignIn.expires_at <= now))
    return int(getattr(result, "rowcount", 0) or 0)


def latest_locale(session: Session, customer_id: str) -> str | None:
    """Returns the language of the customer's latest booking (by start), if any."""
    query = (
        select(Reservation.locale)
        .where(Reservation.customer_id == customer_id)
        .order_by(Reservation.start_at.desc(), Reservation.id.desc())
        .limit(1)
    )
    return session.scalars(query).first()


def past_of_customer(
    session: Session, tenant_id: str, customer_id: str, ended_by: datetime, limit: int
) -> Sequence[tuple[Reservation, str]]:
    """Returns up to `limit` of a customer's reservations that ended by `ended_by`, the latest
    first (with their venue ids); the customer_id index finds their few rows."""
    query = (
        select(Reservation, Resource.venue_id)
        .join(Resource, Resource.id == Reservation.resource_id)
        .where(
            Reservation.tenant_id == tenant_id,
            Reservation.customer_id == customer_id,
            Reservation.end_at <= ended_by,
        )
        .order_by(Reservation.start_at.desc(), Reservation.id.desc())
        .limit(limit)
    )
    return [(row[0], row[1]) for row in session.execute(query).all()]
