"""`/my`: a signed-in customer's own bookings with the key of each (the code in large digits,
the URL key's link, the mobile key as a QR code, how SMS access and an unlocked door work),
and cancelling one (a confirmation page, then a CSRF-checked post).

The lists come from `desk.customer_reservations` (what `GET /api/v1/me/reservations` answers)
and the cancel from `my_bookings.cancel_own` (the API's `service.cancel_reservation` after the
customer's own checks). Nothing else is read or decided here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse
from markupsafe import Markup
from sqlalchemy.orm import Session

from hallkey.booking import desk, my_bookings, reservation_views, sign_in
from hallkey.booking.models import Customer
from hallkey.booking.my_bookings import CancelTerms, Place
from hallkey.booking.office_schemas import MyReservationsOut
from hallkey.booking.pages import kit
from hallkey.booking.qr import qr_svg
from hallkey.booking.schemas import ReservationOut
from hallkey.core.errors import Conflict, NotFound, Unauthorized

if TYPE_CHECKING:
    from hallkey.booking.context import BookingContext

HOME = "/my"
UPCOMING_PAGE = 20
PAST_FIRST = 10
PAST_MOST = 200


@dataclass(frozen=True)
class KeyView:
    """The key of a booking as the customer's page shows it.

    `kind`: `pin`, `url_key`, `mobile_key`, `sms`, `unlock` (a public event), `pending`,
    `failed`, `revoked`, `withheld` (the key went to whoever booked with the customer's
    e-mail) or `none` (no key: not confirmed, cancelled, or its time is over).
    """

    kind: str
    code: str | None = None
    url: str | None = None
    token: str | None = None
    qr: Markup | None = None
    sms_number: str | None = None


@dataclass(frozen=True)
class BookingView:
    """One reservation on `/my`."""

    reservation: ReservationOut
    place: Place
    access_from: datetime
    access_to: datetime
    key: KeyView
    terms: CancelTerms
    series_id: str | None


@dataclass
class Group:
    """A series with its occurrences, or (`series_id` None) one booking alone."""

    series_id: str | None
    items: list[BookingView] = field(default_factory=list)


def series_id_of(view: ReservationOut) -> str | None:
    """Returns the series a reservation is an occurrence of.

    SERIES: the one place to wire series into `/my`. Once reservations carry their
    `series_id` (the series work), it arrives here and `groups` puts a series' occurrences
    under one heading (`my/index.html`, the `series` block).
    """
    value = getattr(view, "series_id", None)
    return str(value) if value else None


def groups(items: list[BookingView]) -> list[Group]:
    """Returns the bookings grouped: a series' occurrences together, at the place of its
    first; any other booking alone; the order of `items` kept otherwise."""
    found: list[Group] = []
    by_series: dict[str, Group] = {}
    for item in items:
        if item.series_id is None:
            found.append(Group(series_id=None, items=[item]))
            continue
        group = by_series.get(item.series_id)
        if group is None:
            group = by_series[item.series_id] = Group(series_id=item.series_id)
            found.append(group)
        group.items.append(item)
    return found


def key_of(
    view: ReservationOut, place: Place, *, withheld: bool, over: bool, sms_number: str | None
) -> KeyView:
    """Returns what the page shows of a reservation's key, by its access state (nothing once
    its access window is `over`)."""
    access = view.access
    if view.status != "confirmed" or over:
        return KeyView(kind="none")
    if access.state in ("pending", "failed", "revoked"):
        return KeyView(kind=access.state)
    if place.unlock:
        return KeyView(kind="unlock")
    if withheld:
        return KeyView(kind="withheld")
    if access.credential == "pin" and access.code_formatted:
        return KeyView(kind="pin", code=access.code_formatted)
    if access.credential == "url_key" and access.url:
        return KeyView(kind="url_key", url=access.url)
    if access.credential == "mobile_key" and access.mobile_key:
        token = access.mobile_key
        # segno's SVG: our own markup around the token's modules, nothing of the token as text.
        return KeyView(kind="mobile_key", token=token, qr=Markup(qr_svg(token)))  # noqa: S704
    if access.credential == "sms":
        return KeyView(kind="sms", sms_number=sms_number)
    return KeyView(kind="pending")  # granted, but its credential is not here yet


def build_router(ctx: BookingContext) -> APIRouter:
    """Returns the router of `/my` and its cancel pages."""
    router = APIRouter(route_class=kit.PageRoute, include_in_schema=False)

    def signed_in(session: Session, request: Request) -> tuple[kit.Visitor, Customer]:
        """Returns the visitor and the customer signed in on this tenant's pages; raises
        SignInNeeded for anyone else (another tenant's customer too)."""
        who = kit.visitor(ctx, session, request)
        customer_id = kit.require_customer(who)
        try:
            customer, _ = sign_in.signed_in(ctx, session, request.cookies.get(sign_in.COOKIE))
        except Unauthorized:
            raise kit.SignInNeeded(customer=True) from None
        if customer.id != customer_id:
            raise kit.SignInNeeded(customer=True)
        return who, customer

    def views(session: Session, page: MyReservationsOut) -> list[BookingView]:
        known = my_bookings.places(session, {item.resource_id for item in page.items})
        now = ctx.clock.now()
        made: list[BookingView] = []
        for item in page.items:
            place = known.get(item.resource_id)
            if place is None:
                continue
            start, end = my_bookings.access_window(item.start, item.end, place)
            withheld = item.id in page.withheld
            made.append(
                BookingView(
                    reservation=item,
                    place=place,
                    access_from=start,
                    access_to=end,
                    key=key_of(
                        item,
                        place,
                        withheld=withheld,
                        over=end <= now,
                        sms_number=ctx.settings.sms_number,
                    ),
                    terms=my_bookings.cancel_terms(item.status, item.start, item.end, place, now),
                    series_id=series_id_of(item),
                )
            )
        return made

    @router.get(HOME, response_class=HTMLResponse)
    def my_page(
        request: Request,
        more: str | None = Query(None, min_length=1, max_length=400),
        past: int = Query(PAST_FIRST, ge=1, le=PAST_MOST),
        cancelled: str | None = Query(None, max_length=40),
    ) -> HTMLResponse:
        """The customer's bookings: upcoming first (by start, a page at a time), then the
        latest past ones."""
        with ctx.database.read() as session:
            who, customer = signed_in(session, request)
            now = ctx.clock.now()
            upcoming = desk.customer_reservations(
                ctx, session, customer, cursor=more, limit=UPCOMING_PAGE, ending_after=now
            )
            earlier, more_past = desk.customer_past_reservations(
                ctx, session, customer, ended_by=now, limit=past
            )
            upcoming_views, past_views = views(session, upcoming), views(session, earlier)
        notice = kit.text(request, "The booking is cancelled.") if cancelled else ""
        return kit.render(
            request,
            "my/index.html",
            who,
            upcoming=groups(upcoming_views),
            past=groups(past_views),
            next_cursor=upcoming.next_cursor,
            paged=more is not None,
            more_past=min(past * 5, PAST_MOST) if more_past else None,
            notice=notice,
            notice_ok=True,
        )

    def own_view(request: Request, reservation_id: str) -> tuple[kit.Visitor, BookingView]:
        """Returns the visitor and their own reservation's view; NotFound for another's."""
        with ctx.database.read() as session:
            who, customer = signed_in(session, request)
            reservation = my_bookings.own_reservation(
                session, who.tenant_id, customer.id, reservation_id[:40]
            )
            page = MyReservationsOut(
                items=[reservation_views.reservation_view(ctx, session, reservation)],
                withheld=[] if reservation.contact_is_customer else [reservation.id],
                next_cursor=None,
            )
            found = views(session, page)
        if not found:
            raise NotFound("unknown reservation")
        return who, found[0]

    @router.get(f"{HOME}/reservations/{{reservation_id}}/cancel", response_class=HTMLResponse)
    def confirm_cancel(request: Request, reservation_id: str) -> HTMLResponse:
        """Asks "Cancel this booking?", with what it costs, before the button."""
        who, booking = own_view(request, reservation_id)
        return kit.render(request, "my/cancel.html", who, booking=booking, error="")

    @router.post(f"{HOME}/reservations/{{reservation_id}}/cancel", response_model=None)
    def cancel(request: Request, reservation_id: str, form: kit.Form) -> Response:
        """Cancels the customer's own booking (its key stops working), then shows `/my`."""
        kit.check_form(request, form)
        with ctx.database.read() as session:
            who, customer = signed_in(session, request)
            customer_id = customer.id
        try:
            with ctx.database.transaction() as session:
                my_bookings.cancel_own(
                    ctx, session, who.tenant_id, customer_id, reservation_id[:40]
                )
        except Conflict:
            # Begun (or decided) meanwhile: the page says so, and nothing changed.
            who, booking = own_view(request, reservation_id)
            message = kit.text(request, "This booking can no longer be cancelled.")
            return kit.render(
                request, "my/cancel.html", who, status=409, booking=booking, error=message
            )
        return kit.see_other(f"{HOME}?cancelled=1")

    return router
