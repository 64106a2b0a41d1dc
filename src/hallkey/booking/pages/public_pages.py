"""The public front: `/` (the tenant's venues and resources, their prices and how their doors
open), `/resources/{id}` (a week of free and taken time, the rules, the price of a chosen
time and the booking form), `POST /resources/{id}/book`, and the confirmation after booking.

The form's fields carry the API's names (`start`, `end`, `name`, `phone`, `email`,
`organisation`, `org_number`); `start` and `end` are `datetime-local` wall times read in the
venue's zone. It books through `service.create_reservation`, as `POST /api/v1/reservations`
does (and as `/api/v1/me/reservations` does for a signed-in customer). A one-time token in
the form names the id the reservation will get, so a form sent twice books once; the
confirmation's address carries a signed token, so nobody sees another's booking by its id.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from hallkey.booking import customer_records, domain, offers, prices, public, service
from hallkey.booking import repository as repo
from hallkey.booking.api import write_transaction
from hallkey.booking.pages import booking_form, kit, signed, week
from hallkey.booking.schemas import QuoteOut
from hallkey.core.errors import AppError, Conflict, NotFound
from hallkey.core.throttle import Rate, Throttle

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from hallkey.booking.context import BookingContext

USUAL_MINUTES = 60
GRID_MINUTES = 15
BOOKINGS_PER_ADDRESS = Rate(limit=30, per_seconds=3600)
"""Bookings one address may send through the public form in an hour (each e-mails someone)."""


def _tenant_query(request: Request) -> str:
    """Returns `tenant=<slug>` when the page was asked for with it (an installation of several
    tenants without host names of their own), for its links to carry; else ""."""
    slug = request.query_params.get("tenant")
    return urlencode({"tenant": slug[:64]}) if slug else ""


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def build_router(ctx: BookingContext) -> APIRouter:
    """Returns the router of `/`, `/resources/{id}` and the booking confirmation."""
    router = APIRouter(route_class=kit.PageRoute, include_in_schema=False)
    bookings_per_address = Throttle("bookings per address", BOOKINGS_PER_ADDRESS, ctx.clock)

    @router.get("/", response_class=HTMLResponse)
    def front(request: Request) -> HTMLResponse:
        """The tenant's venues with their resources: price, key, approval, opening hours."""
        with ctx.database.read() as session:
            who = kit.visitor(ctx, session, request)
            found = offers.list_offers(session, who.tenant_id)
        venues: dict[str, list[offers.Offer]] = {}
        for offer in found:
            venues.setdefault(offer.venue_id, []).append(offer)
        lang = kit.lang_of(request)
        hours = {o.resource.id: week.hours_summary(o.opening_hours, lang) for o in found}
        return kit.render(
            request,
            "public/front.html",
            who,
            venues=list(venues.values()),
            hours=hours,
            tq=_tenant_query(request),
        )

    def resource_page(
        request: Request,
        resource_id: str,
        state: booking_form.FormState,
        *,
        status: int = 200,
        first: date | None = None,
        notice: str = "",
    ) -> HTMLResponse:
        query = request.query_params
        now = ctx.clock.now()
        with ctx.database.read() as session:
            who = kit.visitor(ctx, session, request)
            offer = offers.get_offer(session, who.tenant_id, resource_id)
            zone = domain.zone(offer.resource.timezone)
            today = now.astimezone(zone).date()
            if first is None:
                first = week.first_day(query.get("week"), query.get("from"), today)
            start, end = week.span(first, zone)
            last_day = today.toordinal() + offer.resource.horizon_days
            found = None
            if today.toordinal() - 365 <= first.toordinal() <= last_day:
                found = public.availability(session, who.tenant_id, resource_id, start, end, now)
            person = ("name", "phone", "email")
            if who.customer_id is not None and not any(state.values.get(k) for k in person):
                state.values |= _prefill(session, who.tenant_id, who.customer_id)
            quote, quote_error = _quote(request, session, who.tenant_id, offer, state)
        if not state.token:
            state.token = signed.new_form_token(ctx, resource_id)
        days = (
            week.days(
                first,
                zone,
                found,
                usual_minutes=max(USUAL_MINUTES, offer.resource.min_booking_minutes),
                grid_minutes=offer.resource.slot_minutes or GRID_MINUTES,
            )
            if found is not None
            else []
        )
        previous = date.fromordinal(first.toordinal() - week.DAYS)
        following = date.fromordinal(first.toordinal() + week.DAYS)
        return kit.render(
            request,
            "public/resource.html",
            who,
            tq=_tenant_query(request),
            status=status,
            notice=notice,
            offer=offer,
            r=offer.resource,
            lengths=_lengths(offer),
            hours=week.hours_summary(offer.opening_hours, kit.lang_of(request)),
            first=first,
            first_at=week.midnight(first, zone),
            last_at=week.midnight(date.fromordinal(first.toordinal() + week.DAYS - 1), zone),
            week_label=week.iso_week(first),
            days=days,
            previous=previous.isoformat() if first > today else "",
            following=following.isoformat() if following.toordinal() <= last_day else "",
            form=state,
            quote=quote,
            quote_error=quote_error,
            signed_in=who.customer_id is not None,
        )

    def _prefill(session: Session, tenant_id: str, customer_id: str) -> dict[str, str]:
        record = customer_records.get_customer(session, tenant_id, customer_id)
        found = {
            "name": record.name,
            "phone": record.phone,
            "email": record.email,
            "organisation": record.organisation,
            "org_number": record.org_number,
        }
        return {key: value for key, value in found.items() if value}

    def _quote(
        request: Request,
        session: Session,
        tenant_id: str,
        offer: offers.Offer,
        state: booking_form.FormState,
    ) -> tuple[QuoteOut | None, str]:
        """Returns the default group's price of the form's time, or why there is none."""
        if not state.values.get("start") or not state.values.get("end") or offer.free:
            return None, ""
        zone = domain.zone(offer.resource.timezone)
        try:
            start = week.read_local(state.values["start"], zone, "start")
            end = week.read_local(state.values["end"], zone, "end")
            return prices.quote_frame(session, tenant_id, offer.resource.id, start, end, None), ""
        except NotFound:
            return None, ""
        except AppError as exc:
            return None, booking_form.error_text(request, exc)

    @router.get("/resources/{resource_id}", response_class=HTMLResponse)
    def resource(request: Request, resource_id: str) -> HTMLResponse:
        """A week of the resource's free and taken time, its rules and the booking form (a
        free time's link fills in `start` and `end`)."""
        values = {
            key: request.query_params.get(key, "")[:40]
            for key in ("start", "end")
            if request.query_params.get(key)
        }
        return resource_page(request, resource_id, booking_form.FormState(values=values))

    @router.post("/resources/{resource_id}/book", response_model=None)
    def book(request: Request, resource_id: str, form: kit.Form) -> Response:
        """Books the resource from the form (or, with `action=quote`, shows its price)."""
        kit.check_form(request, form)
        values = {
            key: form.get(key, "").strip()[:400] for key in booking_form.FIELDS if form.get(key)
        }
        state = booking_form.FormState(values=values, token=form.get("form_token", "")[:1024])
        first = _first_of(values.get("start"))
        if form.get("action") == "quote":
            return resource_page(request, resource_id, state, first=first)
        reservation_id = signed.form_reservation_id(ctx, state.token, resource_id)
        if reservation_id is None:
            state.token = ""
            state.errors = {"": kit.text(request, "The form has expired. Check it and send again.")}
            return resource_page(request, resource_id, state, status=400, first=first)
        with ctx.database.read() as session:
            who = kit.visitor(ctx, session, request)
            offer = offers.get_offer(session, who.tenant_id, resource_id)
            if _booked(session, who.tenant_id, reservation_id):
                return _to_confirmation(request, reservation_id)
        body = booking_form.read_body(request, offer, values, state)
        if body is None:
            return resource_page(request, resource_id, state, status=422, first=first)
        bookings_per_address.hit(_address(request))
        try:
            with write_transaction(ctx) as session:
                service.create_reservation(
                    ctx,
                    session,
                    who.tenant_id,
                    body,
                    proven=who.customer_id,
                    reservation_id=reservation_id,
                )
        except AppError as exc:
            with ctx.database.read() as session:
                if _booked(session, who.tenant_id, reservation_id):
                    return _to_confirmation(
                        request, reservation_id
                    )  # the same form, sent twice at once
            if isinstance(exc, Conflict):
                notice = kit.text(request, booking_form.TIME_TAKEN)
                return resource_page(
                    request, resource_id, state, status=409, first=first, notice=notice
                )
            state.errors = {
                booking_form.form_field(exc.field or ""): booking_form.error_text(request, exc)
            }
            return resource_page(request, resource_id, state, status=exc.status, first=first)
        return _to_confirmation(request, reservation_id)

    @router.get("/resources/{resource_id}/book", response_model=None)
    def book_again(request: Request, resource_id: str) -> Response:
        """Sends a visitor who opens the form's address (a language link, a reload) to the
        resource's page."""
        kept = {
            k: request.query_params[k] for k in ("tenant", "lang") if request.query_params.get(k)
        }
        query = f"?{urlencode(kept)}" if kept else ""
        return kit.see_other(f"/resources/{quote(resource_id, safe='')}{query}")

    def _booked(session: Session, tenant_id: str, reservation_id: str) -> bool:
        found = repo.reservation(session, reservation_id)
        return found is not None and found.tenant_id == tenant_id

    def _to_confirmation(request: Request, reservation_id: str) -> Response:
        token = signed.issue(ctx, signed.CONFIRMATION, reservation_id, signed.CONFIRMATION_LIFETIME)
        tenant = _tenant_query(request)
        query = urlencode({"t": token}) + (f"&{tenant}" if tenant else "")
        return kit.see_other(f"/reservations/{reservation_id}/confirmation?{query}")

    @router.get("/reservations/{reservation_id}/confirmation", response_class=HTMLResponse)
    def confirmation(request: Request, reservation_id: str, t: str = "") -> HTMLResponse:
        """What came of a booking: confirmed or requested, when, the price, where the key
        comes; only with the token of the redirect after booking."""
        if signed.read(ctx, signed.CONFIRMATION, t) != reservation_id:
            raise NotFound("unknown reservation")
        with ctx.database.read() as session:
            who = kit.visitor(ctx, session, request)
            reservation = service.get_reservation(session, who.tenant_id, reservation_id)
            resource = repo.resource(session, reservation.resource_id)
            assert resource is not None  # a foreign key guarantees it
            venue = repo.venue(session, resource.venue_id)
            assert venue is not None
            quote = prices.stored_quote(reservation)
            response = kit.render(
                request,
                "public/confirmation.html",
                who,
                tq=_tenant_query(request),
                reservation=reservation,
                resource=resource,
                venue=venue,
                quote=quote,
                unlocks=resource.access_operation == "unlock",
            )
        # The address holds the token: kept out of caches and of other sites' referrers.
        response.headers["cache-control"] = "no-store"
        response.headers["referrer-policy"] = "no-referrer"
        return response

    return router


def _lengths(offer: offers.Offer) -> dict[str, timedelta | None]:
    """Returns the rules' lengths of time, for the page to say them in its language."""
    resource = offer.resource
    return {
        "shortest": timedelta(minutes=resource.min_booking_minutes),
        "longest": timedelta(minutes=resource.max_booking_minutes),
        "slot": timedelta(minutes=resource.slot_minutes) if resource.slot_minutes else None,
        "ahead": timedelta(days=resource.horizon_days),
        "lead": timedelta(minutes=resource.lead_minutes) if resource.lead_minutes else None,
    }


def _first_of(start: str | None) -> date | None:
    """Returns the day a form's start falls on (the week to show again), if it reads as one."""
    if not start:
        return None
    try:
        return datetime.fromisoformat(start).date()
    except ValueError:
        return None
