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
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, or_, select, tuple_
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


def _customer_of(customer: Customer | None) -> tuple[str, str]:
    """Returns who pays (the organisation, else the person's name) and the org number."""
    if customer is None or customer.erased_at is not None:
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


def rows(
    read: Callable[[], AbstractContextManager[Session]],
    tenant_id: str,
    start: datetime,
    end: datetime,
) -> Iterator[AccountRowOut]:
    """Yields the period's billable reservations by start time, a page per read session."""
    places = _Places({})
    after: tuple[datetime, str] | None = None
    while True:
        with read() as session:
            query = select(Reservation).where(*_billable(tenant_id, start, end))
            if after is not None:
                query = query.where(tuple_(Reservation.start_at, Reservation.id) > after)
            page = list(
                session.scalars(query.order_by(Reservation.start_at, Reservation.id).limit(PAGE))
            )
            ids = {r.customer_id for r in page}
            customers = {
                c.id: c for c in session.scalars(select(Customer).where(Customer.id.in_(ids)))
            }
            out = [_row(session, places, r, customers.get(r.customer_id)) for r in page]
            # Read while the session is open: its objects expire when it closes.
            after = (page[-1].start_at, page[-1].id) if len(page) == PAGE else None
        yield from out
        if after is None:
            return


def _row(
    session: Session, places: _Places, reservation: Reservation, customer: Customer | None
) -> AccountRowOut:
    place = places.of(session, reservation.resource_id)
    local_start = reservation.start_at.astimezone(place.zone)
    local_end = reservation.end_at.astimezone(place.zone)
    name, org_number = _customer_of(customer)
    minutes = int((reservation.end_at - reservation.start_at).total_seconds() // 60)
    return AccountRowOut(
        reservation_id=reservation.id,
        ref=reservation.ref,
        status=reservation.status,
        start=reservation.start_at,
        end=reservation.end_at,
        date=local_start.date().isoformat(),
        local_start=local_start.strftime("%H:%M"),
        local_end=local_end.strftime("%H:%M"),
        resource_id=place.resource_id,
        resource=place.resource,
        venue=place.venue,
        customer=name,
        org_number=org_number,
        price_group=reservation.price_group or "",
        minutes=minutes,
        hours=round(minutes / 60, 2),
        net_ore=reservation.price_net_ore or 0,
        vat_ore=reservation.price_vat_ore or 0,
        gross_ore=reservation.price_gross_ore or 0,
        vat_basis_points=reservation.price_vat_basis_points or 0,
    )


def add(totals: AccountTotals, row: AccountRowOut) -> None:
    """Adds a row to the totals."""
    totals.count += 1
    totals.minutes += row.minutes
    totals.hours = round(totals.minutes / 60, 2)
    totals.net_ore += row.net_ore
    totals.vat_ore += row.vat_ore
    totals.gross_ore += row.gross_ore


def as_json(items: Iterator[AccountRowOut], start: datetime, end: datetime) -> AccountsOut:
    """Returns the export as one JSON document (øre, minutes) with its totals."""
    listed: list[AccountRowOut] = []
    totals = AccountTotals()
    for row in items:
        listed.append(row)
        add(totals, row)
    return AccountsOut(from_=start, to=end, rows=listed, totals=totals)


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
    totals = AccountTotals()
    pending = 0
    buffer.seek(0)
    buffer.truncate()
    for row in items:
        add(totals, row)
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
