"""The case officer's desk under `/admin`: the requests waiting for a decision, a week's
calendar per venue, and the list of reservations with its filters and pages.

Each page checks the scope of the API endpoint that does the same (`decide` for requests,
`reservations:read` for the calendar and the list) and reads through `desk.list_reservations`,
the service behind `GET /api/v1/reservations`: a caretaker sees only its venues there too.
The decisions themselves are posted to `reservation_pages`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Annotated, get_args
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from hallkey.booking import desk, prices, scopes
from hallkey.booking import office_repository as office_repo
from hallkey.booking import repository as repo
from hallkey.booking.office_schemas import ReservationSummaryOut
from hallkey.booking.pages import desk_view, kit
from hallkey.booking.schemas import QuoteOut, ReservationStatus
from hallkey.core.errors import AppError, InvalidInput, NotFound

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from hallkey.booking.context import BookingContext
    from hallkey.booking.tokens import Principal

PAGE_SIZE = 50
CALENDAR_PAGES = 10
"""At most this many pages of `desk.MAX_PAGE` reservations in one venue's week."""
STATUSES: tuple[str, ...] = get_args(ReservationStatus)
HIDDEN_IN_CALENDAR = frozenset({"cancelled", "denied"})
Text = Annotated[str, Query(max_length=400)]


@dataclass(frozen=True)
class Row:
    """One reservation of a list, with what the page names it by."""

    item: ReservationSummaryOut
    resource: str
    venue: str
    zone: str
    organisation: str | None
    price: QuoteOut | None


def rows(
    session: Session, items: list[ReservationSummaryOut], found: desk_view.Places
) -> list[Row]:
    """Returns the list's items with their resource, venue, zone, organisation and price (the
    reservations and customers are those the list just loaded: no new query for most)."""
    made: list[Row] = []
    for item in items:
        reservation = repo.reservation(session, item.id)
        customer = repo.customer(session, item.customer.id)
        made.append(
            Row(
                item=item,
                resource=found.resource_name(item.resource_id),
                venue=found.venue_name(item.resource_id),
                zone=found.zone(item.resource_id),
                organisation=customer.organisation if customer is not None else None,
                price=prices.stored_quote(reservation) if reservation is not None else None,
            )
        )
    return made


def _staff(
    ctx: BookingContext, session: Session, request: Request, scope: str
) -> tuple[kit.Visitor, Principal]:
    who = kit.visitor(ctx, session, request)
    return who, kit.require_staff(who, scope)


def requests_view(
    ctx: BookingContext,
    request: Request,
    *,
    venue: str = "",
    cursor: str = "",
    status: int = 200,
    errors: dict[str, str] | None = None,
    reasons: dict[str, str] | None = None,
) -> HTMLResponse:
    """Renders the requests waiting for a decision (with a denial's error and reason kept)."""
    with ctx.database.read() as session:
        who, principal = _staff(ctx, session, request, scopes.DECIDE)
        found = desk_view.places(session, principal)
        where = office_repo.ReservationFilter(
            tenant_id=principal.tenant_id,
            venue_ids=principal.venue_ids,
            status="requested",
            venue_id=venue or None,
        )
        page = desk.list_reservations(
            session, principal, where, cursor=cursor or None, limit=PAGE_SIZE
        )
        listed = rows(session, page.items, found)
        said = desk_view.notice(request, session, principal)
    more = None
    if page.next_cursor:
        more = "/admin/requests?" + urlencode({"venue": venue, "cursor": page.next_cursor})
    return kit.render(
        request,
        "admin/desk/requests.html",
        who,
        status=status,
        rows=listed,
        places=found,
        venue=venue,
        more=more,
        notice=said,
        notice_ok=True,
        errors=errors or {},
        reasons=reasons or {},
    )


@dataclass(frozen=True)
class Day:
    """One day of a venue's week: its reservations by resource."""

    on: date
    at: datetime  # its first moment, on the venue's clock
    today: bool
    resources: list[tuple[str, list[ReservationSummaryOut]]]


def week_of(value: str, today: date) -> date:
    """Returns the Monday of an ISO week written `2026-W19` (this week's when empty); raises
    InvalidInput (`week`) for anything else."""
    if not value:
        return today - timedelta(days=today.weekday())
    try:
        year, _, number = value.partition("-W")
        return date.fromisocalendar(int(year), int(number), 1)
    except ValueError:
        raise InvalidInput("week is written like 2026-W19", field="week") from None


def iso_week(monday: date) -> str:
    year, number, _ = monday.isocalendar()
    return f"{year}-W{number:02d}"


def week_items(
    session: Session, principal: Principal, venue_id: str, start: datetime, end: datetime
) -> list[ReservationSummaryOut]:
    """Returns the venue's reservations overlapping `[start, end)`, every page of them."""
    where = office_repo.ReservationFilter(
        tenant_id=principal.tenant_id,
        venue_ids=principal.venue_ids,
        venue_id=venue_id,
        start_before=end,
        end_after=start,
    )
    items: list[ReservationSummaryOut] = []
    cursor = None
    for _ in range(CALENDAR_PAGES):
        page = desk.list_reservations(session, principal, where, cursor=cursor, limit=desk.MAX_PAGE)
        items += page.items
        cursor = page.next_cursor
        if cursor is None:
            break
    return [item for item in items if item.status not in HIDDEN_IN_CALENDAR]


def days_of(
    items: list[ReservationSummaryOut],
    found: desk_view.Places,
    venue_id: str,
    monday: date,
    today: date,
    zone: ZoneInfo,
) -> list[Day]:
    """Returns the week's days, each with the reservations starting on it (one begun the week
    before is shown on Monday) under their resources, in the venue's order."""
    resource_ids = [rid for rid, r in found.resources.items() if r.venue_id == venue_id]
    buckets: dict[date, dict[str, list[ReservationSummaryOut]]] = {}
    for item in items:
        on = max(item.start.astimezone(zone).date(), monday)
        buckets.setdefault(on, {}).setdefault(item.resource_id, []).append(item)
        if item.resource_id not in resource_ids:
            resource_ids.append(item.resource_id)
    days = []
    for offset in range(7):
        on = monday + timedelta(days=offset)
        bucket = buckets.get(on, {})
        listed = [(found.resource_name(rid), bucket[rid]) for rid in resource_ids if rid in bucket]
        at = datetime.combine(on, time(0), tzinfo=zone)
        days.append(Day(on=on, at=at, today=on == today, resources=listed))
    return days


def build_router(ctx: BookingContext) -> APIRouter:
    """Returns the router of `/admin/requests`, `/admin/calendar` and `/admin/reservations`."""
    router = APIRouter(route_class=kit.PageRoute, include_in_schema=False)

    @router.get("/admin/requests", response_class=HTMLResponse)
    def requests_page(request: Request, venue: Text = "", cursor: Text = "") -> HTMLResponse:
        """The requests waiting for a case officer's decision, by start time."""
        return requests_view(ctx, request, venue=venue, cursor=cursor)

    @router.get("/admin/calendar", response_class=HTMLResponse)
    def calendar_page(request: Request, venue: Text = "", week: Text = "") -> HTMLResponse:
        """A venue's week: each day's reservations by resource, in the venue's time zone."""
        with ctx.database.read() as session:
            who, principal = _staff(ctx, session, request, scopes.RESERVATIONS_READ)
            found = desk_view.places(session, principal)
            if venue and venue not in found.venues:
                raise NotFound("unknown venue", field="venue")
            venue_id = venue or next(iter(found.venues), "")
            zone = ZoneInfo(found.venue_zone(venue_id))
            today = ctx.clock.now().astimezone(zone).date()
            monday = week_of(week, today)
            start = datetime.combine(monday, time(0), tzinfo=zone).astimezone(UTC)
            end = datetime.combine(monday + timedelta(days=7), time(0), tzinfo=zone)
            items = week_items(session, principal, venue_id, start, end.astimezone(UTC))
            days = days_of(items, found, venue_id, monday, today, zone) if venue_id else []
        return kit.render(
            request,
            "admin/desk/calendar.html",
            who,
            places=found,
            venue=venue_id,
            zone=str(zone),
            days=days,
            week=iso_week(monday),
            previous=iso_week(monday - timedelta(days=7)),
            following=iso_week(monday + timedelta(days=7)),
            this_week=iso_week(today - timedelta(days=today.weekday())),
        )

    @router.get("/admin/reservations", response_class=HTMLResponse)
    def reservations_page(
        request: Request,
        status: Text = "",
        venue: Text = "",
        from_: Annotated[str, Query(alias="from", max_length=40)] = "",
        to: Text = "",
        cursor: Text = "",
    ) -> HTMLResponse:
        """The tenant's reservations by start time, filtered, a page at a time."""
        with ctx.database.read() as session:
            who, principal = _staff(ctx, session, request, scopes.RESERVATIONS_READ)
            found = desk_view.places(session, principal)
            errors: dict[str, str] = {}
            listed: list[Row] = []
            more = None
            try:
                where = _filter(principal, found, status, venue, from_, to)
                page = desk.list_reservations(
                    session, principal, where, cursor=cursor or None, limit=PAGE_SIZE
                )
            except AppError as exc:
                if exc.status != 422:
                    raise
                errors = {
                    k: kit.text(request, v) for k, v in kit.field_errors(request, exc).items()
                }
            else:
                listed = rows(session, page.items, found)
                if page.next_cursor:
                    query = {"status": status, "venue": venue, "from": from_, "to": to}
                    more = "/admin/reservations?" + urlencode({**query, "cursor": page.next_cursor})
        return kit.render(
            request,
            "admin/desk/reservations.html",
            who,
            status=422 if errors else 200,
            rows=listed,
            places=found,
            statuses=STATUSES,
            chosen={"status": status, "venue": venue, "from": from_, "to": to},
            errors=errors,
            more=more,
        )

    return router


def _filter(
    principal: Principal,
    found: desk_view.Places,
    status: str,
    venue: str,
    from_: str,
    to: str,
) -> office_repo.ReservationFilter:
    """Returns the list's filter from the form's fields; dates are the venue's (`to`
    included); raises InvalidInput naming the field that is not right."""
    if status and status not in STATUSES:
        raise InvalidInput("Not valid.", field="status")
    zone = found.venue_zone(venue)
    start = desk_view.local_day(from_, zone, "from")
    end = desk_view.local_day(to, zone, "to", after=1)
    if start is not None and end is not None and end <= start:
        raise InvalidInput("The last day comes before the first.", field="to")
    return office_repo.ReservationFilter(
        tenant_id=principal.tenant_id,
        venue_ids=principal.venue_ids,
        status=status or None,
        venue_id=venue or None,
        start_before=end,
        end_after=start,
    )
