"""Prices of resources: set up per price group, quoted before booking, stored on a booking.

The arithmetic is `hallkey.booking.pricing`; this module reads and writes the
`booking_prices` rows and the price columns of a reservation. A price group is named by its
key (`[a-z0-9_-]{1,40}`); any key is accepted here, so prices do not depend on how groups
are set up. A resource without prices is free and its bookings carry no price; a resource
with prices takes bookings only in the groups it has a price for.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Select, bindparam, select

from hallkey.booking import domain, pricing
from hallkey.booking import repository as repo
from hallkey.booking.models import Reservation, Resource, ResourcePrice
from hallkey.booking.schemas import PriceIn, PriceOut, QuoteOut
from hallkey.core.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

MAX_PRICES = 20


def _price(row: ResourcePrice) -> pricing.Price:
    unit: pricing.PriceUnit = "fixed" if row.unit == "fixed" else "hour"
    return pricing.Price(
        group=row.price_group,
        unit=unit,
        amount_ore=row.amount_ore,
        vat_basis_points=row.vat_basis_points,
    )


def _rows(session: Session, resource_id: str) -> Sequence[ResourcePrice]:
    return session.scalars(_rows_of_resource(), {"resource_id": resource_id}).all()


@functools.cache
def _rows_of_resource() -> Select[ResourcePrice]:
    """A resource's prices by group, built once: every booking reads them, and building the
    statement cost as much again as running it."""
    return (
        select(ResourcePrice)
        .where(ResourcePrice.resource_id == bindparam("resource_id"))
        .order_by(ResourcePrice.price_group)
    )


def offers(session: Session, resource_id: str, group: str) -> bool:
    """Tells whether the resource has a price in the group."""
    return any(row.price_group == group for row in _rows(session, resource_id))


def _price_out(row: ResourcePrice) -> PriceOut:
    return PriceOut(
        group=row.price_group,
        unit=_price(row).unit,
        amount_ore=row.amount_ore,
        vat_rate=pricing.format_vat_rate(row.vat_basis_points),
    )


def prices_out(session: Session, resource_id: str) -> list[PriceOut]:
    """Returns a resource's prices as set-up shows them, by group."""
    return [_price_out(row) for row in _rows(session, resource_id)]


def tenant_prices(session: Session, tenant_id: str) -> dict[str, list[PriceOut]]:
    """Returns the prices of all the tenant's resources by resource id (one query)."""
    query = (
        select(ResourcePrice)
        .where(ResourcePrice.tenant_id == tenant_id)
        .order_by(ResourcePrice.resource_id, ResourcePrice.price_group)
    )
    found: dict[str, list[PriceOut]] = {}
    for row in session.scalars(query):
        found.setdefault(row.resource_id, []).append(_price_out(row))
    return found


def check_prices(prices: Sequence[PriceIn]) -> None:
    """Raises InvalidInput (field `prices`) for more than MAX_PRICES or a group named twice."""
    if len(prices) > MAX_PRICES:
        raise InvalidInput(f"a resource has at most {MAX_PRICES} prices", field="prices")
    groups = [price.group for price in prices]
    if len(set(groups)) != len(groups):
        raise InvalidInput("a price group is named twice", field="prices")


def set_prices(
    session: Session, resource: Resource, prices: Sequence[PriceIn], now: datetime
) -> bool:
    """Brings a resource's prices to exactly `prices`; returns whether anything changed.

    Bookings already made keep the price they were made with (until they are moved)."""
    check_prices(prices)
    have = {row.price_group: row for row in _rows(session, resource.id)}
    changed = False
    for price in prices:
        basis_points = pricing.parse_vat_rate(price.vat_rate)
        row = have.pop(price.group, None)
        if row is None:
            row = ResourcePrice(
                resource_id=resource.id,
                price_group=price.group,
                tenant_id=resource.tenant_id,
                created_at=now,
            )
            session.add(row)
        elif (row.unit, row.amount_ore, row.vat_basis_points) == (
            price.unit,
            price.amount_ore,
            basis_points,
        ):
            continue
        row.unit = price.unit
        row.amount_ore = price.amount_ore
        row.vat_basis_points = basis_points
        changed = True
    for row in have.values():
        session.delete(row)
        changed = True
    session.flush()
    return changed


def _quote_out(quote: pricing.Quote) -> QuoteOut:
    return QuoteOut(
        group=quote.group,
        unit=quote.unit,
        net_ore=quote.net_ore,
        vat_ore=quote.vat_ore,
        gross_ore=quote.gross_ore,
        vat_rate=pricing.format_vat_rate(quote.vat_basis_points),
    )


def quote_frame(
    session: Session,
    tenant_id: str,
    resource_id: str,
    start: datetime,
    end: datetime,
    group: str | None,
) -> QuoteOut:
    """Returns what booking the tenant's resource for `[start, end)` costs in a price group
    (the default one when None); 404 when the resource has no price in that group."""
    resource = repo.resource(session, resource_id)
    if resource is None or resource.tenant_id != tenant_id or not resource.active:
        raise NotFound("unknown resource", field="resource_id")
    if end <= start:
        raise InvalidInput("end must be after start", field="end")
    if end - start > timedelta(minutes=resource.max_booking_minutes):
        raise InvalidInput(
            f"a booking lasts at most {resource.max_booking_minutes} minutes", field="end"
        )
    wanted = group or pricing.DEFAULT_GROUP
    row = session.get(ResourcePrice, (resource.id, wanted))
    if row is None:
        raise NotFound("this resource has no price in that group", code="no_price", field="group")
    return _quote_out(pricing.quote(_price(row), end - start))


def price_reservation(
    session: Session, reservation: Reservation, group: str | None, *, moved: bool = False
) -> None:
    """Stores on the reservation what its frame costs in the price group (the default one
    when None); clears it for a resource without prices. Raises InvalidInput (field
    `price_group`) when the resource has prices but none in that group — unless the booking
    is `moved` and priced already: then it keeps the price it was made with (its group's
    price was removed since, and staff moving a booking should not be stopped by that)."""
    wanted = group or pricing.DEFAULT_GROUP
    rows = {row.price_group: row for row in _rows(session, reservation.resource_id)}
    row = rows.get(wanted)
    if row is None:
        if moved and reservation.price_group is not None:
            return
        if rows:
            raise InvalidInput(
                f"this resource is not offered in the price group {wanted!r}",
                field="price_group",
            )
        _clear(reservation)
        return
    frame = domain.Frame(reservation.start_at, reservation.end_at)
    quote = pricing.quote(_price(row), frame.duration)
    reservation.price_group = quote.group
    reservation.price_unit = quote.unit
    reservation.price_net_ore = quote.net_ore
    reservation.price_vat_ore = quote.vat_ore
    reservation.price_gross_ore = quote.gross_ore
    reservation.price_vat_basis_points = quote.vat_basis_points


def _clear(reservation: Reservation) -> None:
    reservation.price_group = None
    reservation.price_unit = None
    reservation.price_net_ore = None
    reservation.price_vat_ore = None
    reservation.price_gross_ore = None
    reservation.price_vat_basis_points = None


def stored_quote(reservation: Reservation) -> QuoteOut | None:
    """Returns the price stored on a reservation, or None when it has none."""
    if (
        reservation.price_group is None
        or reservation.price_net_ore is None
        or reservation.price_vat_ore is None
        or reservation.price_gross_ore is None
        or reservation.price_vat_basis_points is None
    ):
        return None
    unit: pricing.PriceUnit = "fixed" if reservation.price_unit == "fixed" else "hour"
    return _quote_out(
        pricing.Quote(
            group=reservation.price_group,
            unit=unit,
            net_ore=reservation.price_net_ore,
            vat_ore=reservation.price_vat_ore,
            gross_ore=reservation.price_gross_ore,
            vat_basis_points=reservation.price_vat_basis_points,
        )
    )
