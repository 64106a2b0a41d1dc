"""The accounts export: every billable reservation of a period with its customer and price.

Billable: a confirmed reservation, and a cancelled one whose cancellation is charged (late,
`cancellation_charged`), at its full price. Requested, denied and freely cancelled ones are
left out (they cost nothing). A reservation belongs to the period its start lies in; series
occurrences are reservations and are listed one by one. Amounts are integer øre (net + VAT =
gross per row, so the totals add up exactly); hours come from UTC durations (a DST night
counts its real length); dates and times are shown in the venue's time zone.

Rows are read in pages of `PAGE` by the (tenant_id, start_at, id) index, so a long period
streams without being held in memory. CSV: `;`-separated, decimal comma, kroner with two
decimals, UTF-8 with a BOM and CRLF lines (what a spreadsheet in a Norwegian locale opens as
is); a text cell starting with `=`, `+`, `-`, `@`, a tab or a CR gets a leading `'` so no
spreadsheet runs it as a formula.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Row, and_, or_, select, tuple_
from sqlalchemy.orm import Session

from hallkey.booking.accounts_schemas import AccountRowOut, AccountsOut, AccountTotals
from hallkey.booking.models import Customer, Reservation, Resource, Venue
from hallkey.core.errors import InvalidInput

PAGE = 500
MAX_SPAN = timedelta(days=366)
CSV_COLUMNS = (
    "ref",
    "status",
    "date",
    "start",
    "end",
    "resource",
    "venue",
    "customer",
    "org_number",
    "price_group",
    "hours",
    "net",
    "vat",
    "gross",
    "vat_rate",
)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def check_period(start: datetime, end: datetime) -> None:
    """Raises InvalidInput (field `to`) for an empty or too long period."""
    if end <= start:
        raise InvalidInput("to must be after from", field="to")
    if end - start > MAX_SPAN:
        raise InvalidInput("to must be at most 366 days after from", field="to")


def _billable(tenant_id: str, start: datetime, end: datetime) -> list[ColumnElement[bool]]:
    return [
        Reservation.tenant_id == tenant_id,
        Reservation.start_at >= start,
        Reservation.start_at < end,
        or_(
            Reservation.status == "confirmed",
            and_(Reservation.status == "cancelled", Reservation.cancellation_charged.is_(True)),
        ),
    ]


def _customer_of(customer: Row[*tuple[Any, ...]]) -> tuple[str, str]:
    """Returns who pays (the organisation, else the person's name) and the org number."""
    if customer.erased_at is not None:
        return "", ""
    if customer.kind == "organisation" and customer.organisation:
        return customer.organisation, customer.org_number or ""
    return customer.name or "", customer.org_number or ""


@dataclass(frozen=True)
class _Place:
    """What a row shows of its resource and venue (plain values: they outlive the session)."""

    resource_id: str
    resource: str
    venue: str
    zone: ZoneInfo


@dataclass
class _Places:
    """Resources met so far (few, and read once each)."""

    known: dict[str, _Place]

    def of(self, session: Session, resource_id: str) -> _Place:
        place = self.known.get(resource_id)
        if place is None:
            resource = session.get(Resource, resource_id)
            assert resource is not None  # a foreign key guarantees it
            venue = session.get(Venue, resource.venue_id)
            assert venue is not None
            place = _Place(resource.id, resource.name, venue.name, ZoneInfo(venue.timezone))
            self.known[resource_id] = place
        return place


_COLUMNS = (
    Reservation.id,
    Reservation.ref,
    Reservation.status,
    Reservation.start_at,
    Reservation.end_at,
    Reservation.resource_id,
    Reservation.customer_id,
    Reservation.price_group,
    Reservation.price_net_ore,
    Reservation.price_vat_ore,
    Reservation.price_gross_ore,
    Reservation.price_vat_basis_points,
)
_CUSTOMER_COLUMNS = (
    Customer.id,
    Customer.kind,
    Customer.name,
    Customer.organisation,
    Customer.org_number,
    Customer.erased_at,
)


def rows(
    read: Callable[[], AbstractContextManager[Session]],
    tenant_id: str,
    start: datetime,
    end: datetime,
) -> Iterator[AccountRowOut]:
    """Yields the period's billable reservations by start time, a page per read session.
    Columns, not ORM objects: a year's export is tens of thousands of rows."""
    places = _Places({})
    after: tuple[datetime, str] | None = None
    while True:
        with read() as session:
            query = select(*_COLUMNS).where(*_billable(tenant_id, start, end))
            if after is not None:
                # `start_at >= …` bounds the index range; the row value alone made SQLite
                # read every page from the period's start again.
                query = query.where(
                    Reservation.start_at >= after[0],
                    tuple_(Reservation.start_at, Reservation.id) > after,
                )
            page = session.execute(
                query.order_by(Reservation.start_at, Reservation.id).limit(PAGE)
            ).all()
            ids = {r.customer_id for r in page}
            customers = {
                c.id: _customer_of(c)
                for c in session.execute(select(*_CUSTOMER_COLUMNS).where(Customer.id.in_(ids)))
            }
            out = [
                _row(places.of(session, r.resource_id), r, customers.get(r.customer_id, ("", "")))
                for r in page
            ]
        yield from out
        if len(page) < PAGE:
            return
        after = (page[-1].start_at, page[-1].id)


def _row(place: _Place, r: Row[*tuple[Any, ...]], payer: tuple[str, str]) -> AccountRowOut:
    local_start = r.start_at.astimezone(place.zone)
    local_end = r.end_at.astimezone(place.zone)
    minutes = int((r.end_at - r.start_at).total_seconds() // 60)
    # Built without validation: every value comes typed from the database.
    return AccountRowOut.model_construct(
        reservation_id=r.id,
        ref=r.ref,
        status=r.status,
        start=r.start_at,
        end=r.end_at,
        date=local_start.date().isoformat(),
        local_start=f"{local_start:%H:%M}",
        local_end=f"{local_end:%H:%M}",
        resource_id=place.resource_id,
        resource=place.resource,
        venue=place.venue,
        customer=payer[0],
        org_number=payer[1],
        price_group=r.price_group or "",
        minutes=minutes,
        hours=round(minutes / 60, 2),
        net_ore=r.price_net_ore or 0,
        vat_ore=r.price_vat_ore or 0,
        gross_ore=r.price_gross_ore or 0,
        vat_basis_points=r.price_vat_basis_points or 0,
    )


@dataclass
class _Sum:
    count: int = 0
    minutes: int = 0
    net_ore: int = 0
    vat_ore: int = 0
    gross_ore: int = 0

    def add(self, row: AccountRowOut) -> None:
        self.count += 1
        self.minutes += row.minutes
        self.net_ore += row.net_ore
        self.vat_ore += row.vat_ore
        self.gross_ore += row.gross_ore

    def out(self) -> AccountTotals:
        return AccountTotals(
            count=self.count,
            minutes=self.minutes,
            hours=round(self.minutes / 60, 2),
            net_ore=self.net_ore,
            vat_ore=self.vat_ore,
            gross_ore=self.gross_ore,
        )


def as_json(items: Iterator[AccountRowOut], start: datetime, end: datetime) -> AccountsOut:
    """Returns the export as one JSON document (øre, minutes) with its totals."""
    listed: list[AccountRowOut] = []
    totals = _Sum()
    for row in items:
        listed.append(row)
        totals.add(row)
    return AccountsOut(from_=start, to=end, rows=listed, totals=totals.out())


def kroner(ore: int) -> str:
    """Returns øre as kroner with a decimal comma and two decimals: 123456 → `1234,56`."""
    sign = "-" if ore < 0 else ""
    whole, cents = divmod(abs(ore), 100)
    return f"{sign}{whole},{cents:02d}"


def _hours(minutes: int) -> str:
    return f"{minutes / 60:.2f}".replace(".", ",")


def safe_cell(value: str) -> str:
    """Returns a text cell no spreadsheet reads as a formula (a leading `'` where it could)."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def _rate(basis_points: int) -> str:
    whole, rest = divmod(basis_points, 100)
    return f"{whole},{rest:02d}"


def as_csv(items: Iterator[AccountRowOut]) -> Iterator[str]:
    """Yields the export as CSV text, a page at a time, ending with a `SUM` row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    yield "\ufeff" + buffer.getvalue()
    totals = _Sum()
    pending = 0
    buffer.seek(0)
    buffer.truncate()
    for row in items:
        totals.add(row)
        text = [
            row.ref,
            row.status,
            row.date,
            row.local_start,
            row.local_end,
            row.resource,
            row.venue,
            row.customer,
            row.org_number,
            row.price_group,
        ]
        writer.writerow(
            [
                *(safe_cell(cell) for cell in text),
                _hours(row.minutes),
                kroner(row.net_ore),
                kroner(row.vat_ore),
                kroner(row.gross_ore),
                _rate(row.vat_basis_points),
            ]
        )
        pending += 1
        if pending == PAGE:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    writer.writerow(
        [
            "SUM",
            str(totals.count),
            *([""] * 8),
            _hours(totals.minutes),
            kroner(totals.net_ore),
            kroner(totals.vat_ore),
            kroner(totals.gross_ore),
            "",
        ]
    )
    yield buffer.getvalue()
