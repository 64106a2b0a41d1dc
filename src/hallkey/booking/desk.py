"""The case officers' desk: the list of reservations (requests first of all) with filters and
an opaque cursor, and the venue limits of who is looking.

The list is ordered by (start_at, id), a total order, so a cursor (the last item's start and
id) gives stable pages while reservations are added or change status. The tenant and the
caller's venues are conditions of the query itself, never a filter applied afterwards.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from hallkey.booking import office_repository as office_repo
from hallkey.booking import repository as repo
from hallkey.booking import reservation_views, series_store
from hallkey.booking.models import Customer, Reservation
from hallkey.booking.office_schemas import (
    MyReservationsOut,
    ReservationPageOut,
    ReservationSummaryOut,
)
from hallkey.booking.schemas import AccessOut, CustomerOut, ReservationOut
from hallkey.booking.tokens import Principal
from hallkey.core.errors import BadRequest, NotFound
from hallkey.core.schemas import parse_utc

if TYPE_CHECKING:
    from hallkey.booking.context import BookingContext

MAX_PAGE = 200


def encode_cursor(values: list[str]) -> str:
    """Returns an opaque cursor holding `values`."""
    raw = json.dumps(values, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> list[str]:
    """Returns the `size` texts of a cursor made by `encode_cursor`; raises BadRequest (field
    `cursor`) for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (binascii.Error, ValueError):
        values = None
    if not (
        isinstance(values, list)
        and len(values) == size
        and all(isinstance(v, str) and 0 < len(v) <= 64 for v in values)
    ):
        raise BadRequest("cursor is not one this list gave", code="bad_cursor", field="cursor")
    return values


def list_reservations(
    session: Session,
    principal: Principal,
    where: office_repo.ReservationFilter,
    *,
    cursor: str | None,
    limit: int,
) -> ReservationPageOut:
    """Returns a page of the tenant's reservations the caller may see, by start time."""
    rows = office_repo.reservation_page(session, where, after=_after(cursor), limit=limit + 1)
    # An occurrence's access is its series' one grant: one read for the page's series.
    series_ids = {r.series_id for r, _ in rows[:limit] if r.series_id is not None}
    series_access = series_store.access_states(session, series_ids)
    items = [
        summary(reservation, venue_id, series_access.get(reservation.series_id or ""))
        for reservation, venue_id in rows[:limit]
    ]
    return ReservationPageOut(items=items, next_cursor=_next(rows, limit))


def customer_reservations(
    ctx: BookingContext,
    session: Session,
    customer: Customer,
    *,
    cursor: str | None,
    limit: int,
    ending_after: datetime | None = None,
) -> MyReservationsOut:
    """Returns a page of a customer's own reservations with their access, by start time
    (only those ending after `ending_after`, when given).

    A booking made with their e-mail by someone else (another name or phone, not signed in)
    is listed without that person's contact and without its credential: its key went to them.
    """
    after = _after(cursor)
    where = office_repo.ReservationFilter(
        tenant_id=customer.tenant_id, customer_id=customer.id, end_after=ending_after
    )
    rows = office_repo.reservation_page(session, where, after=after, limit=limit + 1)
    items, withheld = _customer_views(ctx, session, customer, rows[:limit])
    return MyReservationsOut(items=items, withheld=withheld, next_cursor=_next(rows, limit))


def customer_past_reservations(
    ctx: BookingContext, session: Session, customer: Customer, *, ended_by: datetime, limit: int
) -> tuple[MyReservationsOut, bool]:
    """Returns up to `limit` of a customer's reservations that ended by `ended_by`, the latest
    first, as `customer_reservations` shows them, and whether there are more (no cursor: the
    page asks for a larger `limit`)."""
    rows = office_repo.past_of_customer(
        session, customer.tenant_id, customer.id, ended_by, limit + 1
    )
    items, withheld = _customer_views(ctx, session, customer, rows[:limit])
    page = MyReservationsOut(items=items, withheld=withheld, next_cursor=None)
    return page, len(rows) > limit


def _customer_views(
    ctx: BookingContext,
    session: Session,
    customer: Customer,
    rows: Sequence[tuple[Reservation, str]],
) -> tuple[list[ReservationOut], list[str]]:
    items: list[ReservationOut] = []
    withheld: list[str] = []
    for reservation, _ in rows:
        view = reservation_views.reservation_view(ctx, session, reservation)
        if not reservation.contact_is_customer:
            view.customer = CustomerOut(id=customer.id, name=None, phone=None, email=customer.email)
            view.access = AccessOut(state=view.access.state, credential=view.access.credential)
            withheld.append(reservation.id)
        items.append(view)
    return items, withheld


def _after(cursor: str | None) -> tuple[datetime, str] | None:
    if cursor is None:
        return None
    start, last_id = decode_cursor(cursor, 2)
    try:
        return parse_utc(start), last_id
    except ValueError:
        raise BadRequest("cursor is not one this list gave", field="cursor") from None


def _next(rows: Sequence[tuple[Reservation, str]], limit: int) -> str | None:
    if len(rows) <= limit:
        return None
    last = rows[limit - 1][0]
    return encode_cursor([last.start_at.isoformat(), last.id])


def summary(
    reservation: Reservation, venue_id: str, access_state: str | None = None
) -> ReservationSummaryOut:
    """Returns a reservation as the staff's list shows it (`access_state`: its series', for an
    occurrence)."""
    return ReservationSummaryOut(
        id=reservation.id,
        ref=reservation.ref,
        status=reservation.status,
        resource_id=reservation.resource_id,
        venue_id=venue_id,
        start=reservation.start_at,
        end=reservation.end_at,
        customer=reservation_views.contact_out(reservation),
        access_state=access_state or reservation.access_state,
        series_id=reservation.series_id,
        decision=reservation_views.decision_out(reservation),
        created_at=reservation.created_at,
    )


def check_venue(session: Session, principal: Principal, reservation_id: str) -> None:
    """Raises NotFound (as for another tenant's) when the reservation is at a venue the
    caller may not see."""
    if principal.venue_ids is None:
        return
    reservation = repo.reservation(session, reservation_id)
    resource = repo.resource(session, reservation.resource_id) if reservation else None
    if resource is not None and not principal.may_see_venue(resource.venue_id):
        raise NotFound("unknown reservation")
