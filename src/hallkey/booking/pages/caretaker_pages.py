"""A caretaker's pages: `/admin/today` (today's and this week's bookings at their venues, each
with its access state and whether it was used, and an "open the door" button while its access
is valid) and `/admin/usage` (booked, used and no-show hours of a venue in a period, and the
no-shows).

Reading takes the API's `reservations:read` scope, opening the door `doors:open`; both see only
the caller's venues. Opening calls `doors.plan_open` and `doors.send_open` as
`POST /api/v1/reservations/{id}/open` does, with the staff member as its actor; the hub
decides whether the grant is valid at that door now.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Annotated
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from hallkey.booking import caretaker, doors, scopes, usage
from hallkey.booking.pages import kit
from hallkey.core.errors import AppError, InvalidInput, NotFound
from hallkey.core.pages.i18n import babel_locale

if TYPE_CHECKING:
    from hallkey.booking.context import BookingContext
    from hallkey.booking.tokens import Principal

USAGE_STATES = {
    "used": "used",
    "no_show": "not used",
    "unknown": "not yet",
    "not_applicable": "—",
}
ACCESS_STATES = {
    "pending": "being set up",
    "granted": "ready",
    "failed": "failed",
    "revoked": "revoked",
}
STATUSES = {
    "requested": "requested",
    "confirmed": "confirmed",
    "denied": "denied",
    "cancelled": "cancelled",
}
OPEN_REFUSED = {
    "not_valid_now": "The booking's access is not valid at that door now.",
    "hub_unavailable": "The access hub cannot be reached now. Try again in a moment.",
}


def _day(value: str | None, field: str) -> date | None:
    """Returns a `YYYY-MM-DD` query value as a date; raises InvalidInput naming it."""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput("not a date (YYYY-MM-DD)", field=field) from None


def build_router(ctx: BookingContext) -> APIRouter:
    """Returns the router of the caretaker's pages."""
    router = APIRouter(route_class=kit.PageRoute, include_in_schema=False)

    def staff(request: Request, scope: str) -> tuple[kit.Visitor, Principal]:
        return kit.signed_in_staff(ctx, request, scope)

    def today_page(
        request: Request,
        who: kit.Visitor,
        principal: Principal,
        day: date | None,
        *,
        status: int = 200,
        notice: str = "",
        notice_ok: bool = False,
    ) -> HTMLResponse:
        now = ctx.clock.now()
        with ctx.database.read() as session:
            shown = caretaker.week(session, principal, day, now)
        return kit.render(
            request,
            "admin/caretaker/today.html",
            who,
            status=status,
            week=shown,
            may_open=who.may(scopes.DOORS_OPEN),
            previous=(shown.first_day - timedelta(days=7)).isoformat(),
            next=(shown.first_day + timedelta(days=7)).isoformat(),
            usage_states=USAGE_STATES,
            access_states=ACCESS_STATES,
            statuses=STATUSES,
            notice=notice,
            notice_ok=notice_ok,
        )

    @router.get("/admin/today", response_class=HTMLResponse)
    def today(request: Request, week: str = "") -> HTMLResponse:
        """Today's bookings and the week's at the caller's venues (`?week=` a day of another
        week)."""
        who, principal = staff(request, scopes.RESERVATIONS_READ)
        return today_page(request, who, principal, _day(week, "week"))

    @router.post("/admin/today/{reservation_id}/open", response_class=HTMLResponse)
    def open_door(reservation_id: str, request: Request, form: kit.Form) -> HTMLResponse:
        """Opens one of the booking's doors now, if its access is valid there now; the page
        tells the outcome."""
        kit.check_form(request, form)
        who, principal = staff(request, scopes.DOORS_OPEN)
        week = _day(form.get("week"), "week")
        try:
            body = doors.DoorOpenIn.model_validate({"door": form.get("door", "")})
            with ctx.database.read() as session:
                plan = doors.plan_open(ctx, session, principal, reservation_id, body.door)
            opened = doors.send_open(ctx, plan, principal.actor)
        except ValidationError:
            message = kit.text(request, "Choose one of the booking's doors.")
            return today_page(request, who, principal, week, status=422, notice=message)
        except AppError as exc:
            if exc.status == 404:
                raise
            text = OPEN_REFUSED.get(exc.code or "", "The door could not be opened.")
            return today_page(
                request, who, principal, week, status=exc.status, notice=kit.text(request, text)
            )
        with ctx.database.read() as session:
            zone = caretaker.venue_zone_of(session, principal, reservation_id)
        until = opened.unlocked_until.astimezone(ZoneInfo(zone)).strftime("%H:%M:%S")
        message = kit.text(request, "The door %(door)s is open until %(until)s.") % {
            "door": opened.door,
            "until": until,
        }
        return today_page(request, who, principal, week, notice=message, notice_ok=True)

    @router.get("/admin/usage", response_class=HTMLResponse)
    def usage_page(
        request: Request,
        venue: Annotated[str, Query(max_length=40)] = "",
        from_: Annotated[str, Query(alias="from", max_length=10)] = "",
        to: Annotated[str, Query(max_length=10)] = "",
    ) -> HTMLResponse:
        """Booked, used and no-show hours of a venue in a period (local days, both
        included), and the no-shows."""
        who, principal = staff(request, scopes.RESERVATIONS_READ)
        now = ctx.clock.now()
        with ctx.database.read() as session:
            venues = caretaker.visible_venues(session, principal)
            chosen = next((v for v in venues if v.id == venue), venues[0] if venues else None)
            if venue and (chosen is None or chosen.id != venue):
                # Another tenant's, another venue's (for a caretaker), or none: all unknown.
                raise NotFound("unknown venue", field="venue")
            report = None
            first = last = None
            if chosen is not None:
                zone = ZoneInfo(chosen.timezone)
                today = now.astimezone(zone).date()
                first = _day(from_, "from") or caretaker.monday_of(today)
                last = _day(to, "to") or first + timedelta(days=6)
                report = usage.usage_report(
                    session,
                    tenant_id=principal.tenant_id,
                    venue_ids=principal.venue_ids,
                    venue_id=chosen.id,
                    start=datetime.combine(first, time(), zone),
                    end=datetime.combine(last + timedelta(days=1), time(), zone),
                    now=now,
                    with_customers=scopes.allows(principal.scopes, scopes.CUSTOMERS),
                )
        locale = babel_locale(kit.lang_of(request))
        return kit.render(
            request,
            "admin/caretaker/usage.html",
            who,
            hours=lambda value: format_decimal(value, "0.##", locale=locale),
            venues=venues,
            chosen=chosen,
            first=first,
            last=last,
            report=report,
        )

    return router
