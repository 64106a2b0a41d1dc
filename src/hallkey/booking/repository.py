"""Every database query of the booking context."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple, TypeVarTuple

from sqlalchemy import Select, bindparam, delete, func, select, text, update
from sqlalchemy.orm import Session

from hallkey.booking.domain import BLOCKING_STATUSES
from hallkey.booking.models import (
    AccessEvent,
    ApiToken,
    Customer,
    Reservation,
    Resource,
    Tenant,
    TenantHostname,
    Venue,
    WebhookReceipt,
)
from hallkey.booking.series_models import Series
from hallkey.core.db import UTCDateTime, insert_if_new

Row = TypeVarTuple("Row")

# The statements every booking runs are built once, with bound parameters (`functools.cache`):
# building a statement and its cache key cost as much again as running it.


@functools.cache
def _token_by_key_id() -> Select[ApiToken]:
    return select(ApiToken).where(
        ApiToken.key_id == bindparam("key_id"), ApiToken.revoked_at.is_(None)
    )


def token_by_key_id(session: Session, key_id: str) -> ApiToken | None:
    """Returns the unrevoked API token with this key id."""
    return session.scalars(_token_by_key_id(), {"key_id": key_id}).first()


def tenant(session: Session, tenant_id: str) -> Tenant | None:
    """Returns the tenant."""
    return session.get(Tenant, tenant_id)


def venue(session: Session, venue_id: str) -> Venue | None:
    """Returns the venue."""
    return session.get(Venue, venue_id)


def resource(session: Session, resource_id: str) -> Resource | None:
    """Returns the resource."""
    return session.get(Resource, resource_id)


def resource_with_venue(session: Session, resource_id: str) -> tuple[Resource, Venue] | None:
    """Returns the resource and its venue, in one statement."""
    row = session.execute(_resource_with_venue(), {"resource_id": resource_id}).first()
    return None if row is None else (row[0], row[1])


@functools.cache
def _resource_with_venue() -> Select[Resource, Venue]:
    return (
        select(Resource, Venue)
        .join(Venue, Venue.id == Resource.venue_id)
        .where(Resource.id == bindparam("resource_id"))
    )


def tenant_by_slug(session: Session, slug: str) -> Tenant | None:
    """Returns the tenant with this slug (unique index)."""
    return session.scalars(select(Tenant).where(Tenant.slug == slug)).first()


def tenant_by_hostname(session: Session, hostname: str) -> Tenant | None:
    """Returns the tenant that answers under this host name (primary key lookup)."""
    found = session.get(TenantHostname, hostname)
    return None if found is None else session.get(Tenant, found.tenant_id)


def some_tenant_ids(session: Session, limit: int) -> list[str]:
    """Returns up to `limit` tenant ids (to tell whether the installation has just one)."""
    return list(session.scalars(select(Tenant.id).order_by(Tenant.id).limit(limit)))


def hostnames_of(session: Session, tenant_id: str) -> set[str]:
    """Returns the host names of a tenant."""
    query = select(TenantHostname.hostname).where(TenantHostname.tenant_id == tenant_id)
    return set(session.scalars(query))


def resources_with_venues(session: Session, tenant_id: str) -> Sequence[tuple[Resource, Venue]]:
    """Returns the tenant's resources with their venues, by name."""
    rows = session.execute(
        select(Resource, Venue)
        .join(Venue, Venue.id == Resource.venue_id)
        .where(Resource.tenant_id == tenant_id, Resource.active)
        .order_by(Resource.name, Resource.id)
    ).all()
    return [(row[0], row[1]) for row in rows]


def customer_by_email(
    session: Session, tenant_id: str, email: str, *, lock: bool = False, share: bool = False
) -> Customer | None:
    """Returns the tenant's customer with this e-mail address (row-locked when `lock`; with
    `share`, a shared lock that keeps out a writer of the row but not other sharers)."""
    query = _customer_by_email(lock, share)
    return session.scalars(query, {"tenant_id": tenant_id, "email": email}).first()


@functools.cache
def _customer_by_email(lock: bool, share: bool) -> Select[Customer]:
    query = select(Customer).where(
        Customer.tenant_id == bindparam("tenant_id"), Customer.email == bindparam("email")
    )
    return query.with_for_update(read=share) if lock else query


def lock_customer_bookings(session: Session, tenant_id: str, email: str) -> None:
    """Holds, until the transaction ends, the lock of one customer's (tenant, e-mail) bookings
    on PostgreSQL (a transaction advisory lock: it exists before the customer's row does).
    SQLite's writers are serial anyway."""
    _hold_advisory_lock(session, f"booking_customer:{tenant_id}:{email}")


def lock_resource_bookings(session: Session, resource_id: str) -> None:
    """Holds, until the transaction ends, the lock of one resource's bookings on PostgreSQL, so
    that two bookings of the resource look for conflicts one after the other.

    Without it two racing inserts are decided by the exclusion constraint alone, which inserts
    its index entry before it checks: racing inserters can each wait for the other, and the
    deadlock detector then rolls one back (40P01, answered 503) where a 409 was due — under load,
    nearly all of twenty. SQLite's writers are serial anyway."""
    _hold_advisory_lock(session, f"booking_resource:{resource_id}")


def _hold_advisory_lock(session: Session, key: str) -> None:
    """Takes a PostgreSQL transaction advisory lock named by `key` (nothing on SQLite)."""
    if session.get_bind().dialect.name == "postgresql":
        statement = text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")
        session.execute(statement, {"key": key})


def customer(session: Session, customer_id: str, *, lock: bool = False) -> Customer | None:
    """Returns the customer (row-locked when `lock`)."""
    return session.get(Customer, customer_id, with_for_update=lock)


def reservations_of_customer(session: Session, customer_id: str) -> Sequence[Reservation]:
    """Returns a customer's reservations, earliest first."""
    query = select(Reservation).where(Reservation.customer_id == customer_id)
    return session.scalars(query.order_by(Reservation.start_at, Reservation.id)).all()


def customer_has_open_reservations(session: Session, customer_id: str, now: datetime) -> bool:
    """Tells whether a customer has a requested or confirmed reservation not yet ended."""
    query = select(Reservation.id).where(
        Reservation.customer_id == customer_id,
        Reservation.status.in_(("requested", "confirmed")),
        Reservation.end_at > now,
    )
    return session.scalars(query.limit(1)).first() is not None


def reservation(session: Session, reservation_id: str, *, lock: bool = False) -> Reservation | None:
    """Returns the reservation, row-locked for update when `lock` (PostgreSQL)."""
    query = select(Reservation).where(Reservation.id == reservation_id)
    if lock:
        query = query.with_for_update()
    return session.scalars(query).first()


class PlacedReservation(NamedTuple):
    """A reservation with the rows that say where and whose it is."""

    reservation: Reservation
    resource: Resource
    venue: Venue
    tenant: Tenant


def placed_reservation(session: Session, reservation_id: str) -> PlacedReservation | None:
    """Returns the reservation with its resource, venue and tenant, in one statement (a job
    that tells the hub or the customer about it needs all four)."""
    row = session.execute(_placed_reservation(), {"reservation_id": reservation_id}).first()
    return None if row is None else PlacedReservation(row[0], row[1], row[2], row[3])


@functools.cache
def _placed_reservation() -> Select[Reservation, Resource, Venue, Tenant]:
    return (
        select(Reservation, Resource, Venue, Tenant)
        .join(Resource, Resource.id == Reservation.resource_id)
        .join(Venue, Venue.id == Resource.venue_id)
        .join(Tenant, Tenant.id == Reservation.tenant_id)
        .where(Reservation.id == bindparam("reservation_id"))
    )


def update_at_version(
    session: Session,
    model: type[Reservation] | type[Series],
    row_id: str,
    version: int,
    values: Mapping[str, Any],
) -> bool:
    """Sets `values` on the reservation or series if it still has this version (one UPDATE,
    the version checked in it: never a newer change overwritten); tells whether it did."""
    statement = (
        update(model)
        .where(model.id == row_id, model.version == version)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(session.execute(statement), "rowcount", 0))


def reservation_by_ref(
    session: Session, tenant_id: str, ref: str, *, lock: bool = False
) -> Reservation | None:
    """Returns the tenant's reservation with this ref (unique index on ref), row-locked for
    update when `lock` (PostgreSQL)."""
    query = _reservation_by_ref(lock)
    return session.scalars(query, {"ref": ref, "tenant_id": tenant_id}).first()


@functools.cache
def _reservation_by_ref(lock: bool) -> Select[Reservation]:
    query = select(Reservation).where(
        Reservation.ref == bindparam("ref"), Reservation.tenant_id == bindparam("tenant_id")
    )
    return query.with_for_update() if lock else query


def insert_receipt_if_new(session: Session, tenant_id: str, webhook_id: str, at: datetime) -> bool:
    """Stores that the tenant's webhook message `webhook_id` was received, unless it was
    before; tells whether it is new (one statement: no savepoint to catch a duplicate)."""
    values = {"tenant_id": tenant_id, "webhook_id": webhook_id, "received_at": at}
    return insert_if_new(
        session, WebhookReceipt, values, ["tenant_id", "webhook_id"], WebhookReceipt.webhook_id
    )


def delete_receipts_before(session: Session, cutoff: datetime) -> int:
    """Deletes the webhook receipts (of every tenant) received before `cutoff`; returns how
    many went. Reads the index on `received_at`."""
    result = session.execute(delete(WebhookReceipt).where(WebhookReceipt.received_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)


@functools.cache
def _holding_around(whole: bool, exclude: bool) -> Any:
    """Returns the one statement for held times that may overlap `[start, end)` of a resource
    (bound parameters `resource_id`, `start`, `end`, with `exclude` `exclude_id`): the holding
    reservations starting from the start of the last one that starts before `start` (a
    scalar subquery, itself an index read) up to `end`, earliest first — whole reservations,
    or (`whole=False`) their start, end and block end. The caller drops that last one unless
    its held time reaches past `start`."""
    columns = (Reservation.start_at, Reservation.end_at, Reservation.block_end_at)
    query = select(Reservation) if whole else select(*columns)
    query = query.where(
        Reservation.resource_id == bindparam("resource_id"),
        Reservation.status.in_(BLOCKING_STATUSES),
    )
    if exclude:
        query = query.where(Reservation.id != bindparam("exclude_id"))
    start = bindparam("start", type_=UTCDateTime())
    last_start = (
        query.with_only_columns(Reservation.start_at)
        .where(Reservation.start_at < start)
        .order_by(Reservation.start_at.desc())
        .limit(1)
        .correlate(None)  # the same table outside: never a correlated subquery
        .scalar_subquery()
    )
    since = func.coalesce(last_start, start)
    inside = query.where(Reservation.start_at >= since, Reservation.start_at < bindparam("end"))
    return inside.order_by(Reservation.start_at)


def _around(
    resource_id: str, start: datetime, end: datetime, exclude_id: str | None
) -> dict[str, Any]:
    return {"resource_id": resource_id, "start": start, "end": end, "exclude_id": exclude_id}


def overlapping(
    session: Session,
    resource_id: str,
    start: datetime,
    end: datetime,
    *,
    exclude_id: str | None = None,
) -> list[Reservation]:
    """Returns the holding reservations of a resource whose held time `[start_at,
    block_end_at)` (the booking and its buffer) overlaps `[start, end)`, earliest first.

    One statement of two index range reads on (resource_id, start_at, …), whatever the number
    of reservations: those starting inside `[start, end)`, and the last one starting before
    `start`. No earlier one can reach `start`: held times never overlap, so each ends before
    the next begins.
    """
    query = _holding_around(True, exclude_id is not None)
    found = session.scalars(query, _around(resource_id, start, end, exclude_id))
    return [r for r in found if r.start_at >= start or r.block_end_at > start]


def held_times(
    session: Session, resource_id: str, start: datetime, end: datetime
) -> list[tuple[datetime, datetime, datetime]]:
    """Returns (start_at, end_at, block_end_at) of what `overlapping` finds, without loading
    whole reservations (availability reads a month of them)."""
    query = _holding_around(False, False)
    found = session.execute(query, _around(resource_id, start, end, None))
    return [(row[0], row[1], row[2]) for row in found if row[0] >= start or row[2] > start]


def open_bookings_count(session: Session, resource_id: str, customer_id: str, now: datetime) -> int:
    """Returns how many holding single reservations of the resource the customer has not yet
    ended (by the customer_id index); a series' occurrences do not count (a season is staff's
    decision, the limit is for bookings made one by one)."""
    query = select(func.count()).where(
        Reservation.customer_id == customer_id,
        Reservation.series_id.is_(None),
        Reservation.resource_id == resource_id,
        Reservation.status.in_(BLOCKING_STATUSES),
        Reservation.end_at > now,
    )
    return int(session.scalar(query) or 0)


def events_of(session: Session, tenant_id: str, ref: str) -> list[AccessEvent]:
    """Returns a reservation's door events, oldest first (by the (ref, at) index)."""
    return list(
        session.scalars(
            select(AccessEvent)
            .where(AccessEvent.ref == ref, AccessEvent.tenant_id == tenant_id)
            .order_by(AccessEvent.at, AccessEvent.event_id)
        )
    )


def existing_event_ids(session: Session, tenant_id: str, ids: Sequence[str]) -> set[str]:
    """Returns which of these event ids the tenant has stored already (by primary key)."""
    if not ids:
        return set()
    query = select(AccessEvent.event_id).where(
        AccessEvent.tenant_id == tenant_id, AccessEvent.event_id.in_(ids)
    )
    return set(session.scalars(query))


def count_rows(session: Session, model: type[Reservation] | type[Customer]) -> int:
    """Returns the number of rows of a table (for checks and tests)."""
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def confirmed_reservations_of(
    session: Session, resource_id: str, *, ending_after: datetime, lock: bool = False
) -> Sequence[Reservation]:
    """Returns the confirmed reservations of a resource that end after `ending_after`, oldest
    first (locked if asked); the (resource_id, start_at, end_at) index serves it."""
    query = (
        select(Reservation)
        .where(
            Reservation.resource_id == resource_id,
            Reservation.status == "confirmed",
            Reservation.end_at > ending_after,
        )
        .order_by(Reservation.start_at, Reservation.id)
    )
    if lock:
        query = query.with_for_update()
    return session.scalars(query).all()
