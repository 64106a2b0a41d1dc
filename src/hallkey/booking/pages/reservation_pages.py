"""One reservation under `/admin/reservations/{id}`: its customer, price, decision, access and
door events, and what the staff member's role may do with it — approve or deny a request,
cancel, move, open a door now.

Each action calls the service behind the API endpoint that does the same, with that
endpoint's scope (`decide`, `reservations`, `doors:open`), and redirects back with a notice;
a form that does not pass re-renders its page with the values kept and changes nothing.
The page shows the reservation as `GET /api/v1/reservations/{id}` shows it to the same role
(its credential included): a caretaker of another venue gets a 404, as there.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from hallkey.booking import callers, desk, doors, hub_grants, reservation_views, scopes, service
from hallkey.booking import repository as repo
from hallkey.booking.api import write_transaction
from hallkey.booking.pages import desk_pages, desk_view, kit
from hallkey.booking.schemas import ReservationMove
from hallkey.core.errors import AppError

if TYPE_CHECKING:
    from hallkey.booking.context import BookingContext
    from hallkey.booking.tokens import Principal

CHANGEABLE = frozenset({"requested", "confirmed"})


def detail_view(
    ctx: BookingContext,
    request: Request,
    reservation_id: str,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    """Renders the reservation for the signed-in staff member (a form's errors and values
    kept, when one did not pass)."""
    with ctx.database.read() as session:
        who = kit.visitor(ctx, session, request)
        principal = kit.require_staff(who, scopes.RESERVATIONS_READ)
        reservation = service.get_reservation(session, principal.tenant_id, reservation_id)
        callers.check_venue(session, principal, reservation.resource_id)
        view = reservation_views.reservation_view(ctx, session, reservation)
        ref_at_hub = reservation_views.hub_ref(session, reservation)
        found = desk_view.places(session, principal, reservation.resource_id)
        resource = found.resources[reservation.resource_id]
        decided = (
            desk_view.decided_by(session, principal.tenant_id, view.decision.by)
            if view.decision is not None
            else None
        )
        customer = repo.customer(session, reservation.customer_id)
        organisation = customer.organisation if customer is not None else None
        said = desk_view.notice(request, session, principal)
        zone = found.zone(reservation.resource_id)
        venue = found.venue_name(reservation.resource_id)
    # Asked after the read ends: no transaction is held while the hub answers.
    door_states = hub_grants.door_states(ctx, principal.tenant_id, ref_at_hub)
    local_start = view.start.astimezone(ZoneInfo(zone))
    local_end = view.end.astimezone(ZoneInfo(zone))
    moving = {
        "date": local_start.date().isoformat(),
        "start": local_start.strftime("%H:%M"),
        "end": local_end.strftime("%H:%M"),
        "reason": "",
    }
    moving.update(values or {})
    return kit.render(
        request,
        "admin/desk/reservation.html",
        who,
        status=status,
        r=view,
        resource=resource.name,
        venue=venue,
        zone=zone,
        doors=list(resource.door_ids),
        door_states=door_states,
        decided_by=decided,
        organisation=organisation,
        may_decide=who.may(scopes.DECIDE) and view.status == "requested",
        may_change=who.may(scopes.RESERVATIONS) and view.status in CHANGEABLE,
        may_open=who.may(scopes.DOORS_OPEN) and view.status == "confirmed",
        may_customers=who.may(scopes.CUSTOMERS),
        errors=errors or {},
        values=moving,
        notice=said,
        notice_ok=True,
    )


def _done(reservation_id: str, done: str, form: dict[str, str]) -> Response:
    """Redirects back where the action was asked, with its notice."""
    if form.get("from") == "requests":
        query = {"venue": form.get("venue", ""), "done": done, "id": reservation_id}
        return kit.see_other("/admin/requests?" + urlencode(query))
    query = {"done": done, "id": reservation_id}
    return kit.see_other(f"/admin/reservations/{reservation_id}?" + urlencode(query))


def _local_errors(request: Request, error: AppError) -> dict[str, str]:
    return {
        name: kit.text(request, message)
        for name, message in kit.field_errors(request, error).items()
    }


def build_router(ctx: BookingContext) -> APIRouter:
    """Returns the router of a reservation's page and its actions."""
    router = APIRouter(route_class=kit.PageRoute, include_in_schema=False)
    base = "/admin/reservations/{reservation_id}"

    def staff(request: Request, scope: str) -> Principal:
        return kit.signed_in_staff(ctx, request, scope)[1]

    @router.get(base, response_class=HTMLResponse)
    def reservation_page(reservation_id: str, request: Request) -> HTMLResponse:
        """The reservation with its access, door events and the actions the role allows."""
        return detail_view(ctx, request, reservation_id)

    def decide(
        request: Request, form: dict[str, str], reservation_id: str, *, approve: bool
    ) -> Response:
        kit.check_form(request, form)
        principal = staff(request, scopes.DECIDE)
        reason: str | None = None
        if not approve:
            reason, problem = desk_view.deny_reason(request, form)
            if problem:
                if form.get("from") == "requests":
                    return desk_pages.requests_view(
                        ctx,
                        request,
                        venue=form.get("venue", ""),
                        status=422,
                        errors={reservation_id: problem},
                        reasons={reservation_id: reason},
                    )
                kept = {"reason": reason}
                return detail_view(
                    ctx,
                    request,
                    reservation_id,
                    status=422,
                    errors={"reason": problem},
                    values=kept,
                )
        with write_transaction(ctx) as session:
            desk.check_venue(session, principal, reservation_id)
            service.decide_reservation(
                ctx,
                session,
                principal.tenant_id,
                reservation_id,
                approve=approve,
                actor=principal.actor,
                reason=reason,
            )
        return _done(reservation_id, "approved" if approve else "denied", form)

    @router.post(f"{base}/approve", response_model=None)
    def approve(reservation_id: str, request: Request, form: kit.Form) -> Response:
        """Confirms a request (as `POST /api/v1/reservations/{id}/approve`)."""
        return decide(request, form, reservation_id, approve=True)

    @router.post(f"{base}/deny", response_model=None)
    def deny(reservation_id: str, request: Request, form: kit.Form) -> Response:
        """Denies a request with the reason the customer is told (a reason is required)."""
        return decide(request, form, reservation_id, approve=False)

    @router.post(f"{base}/cancel", response_model=None)
    def cancel(reservation_id: str, request: Request, form: kit.Form) -> Response:
        """Cancels the reservation; its access is revoked (as the API's cancel)."""
        kit.check_form(request, form)
        principal = staff(request, scopes.RESERVATIONS)
        with write_transaction(ctx) as session:
            callers.check_venue(
                session,
                principal,
                service.get_reservation(session, principal.tenant_id, reservation_id).resource_id,
            )
            service.cancel_reservation(ctx, session, principal.tenant_id, reservation_id)
        return _done(reservation_id, "cancelled", form)

    @router.post(f"{base}/move", response_model=None)
    def move(reservation_id: str, request: Request, form: kit.Form) -> Response:
        """Moves the reservation to a date and times on the venue's clock (as the API's
        PATCH); an end before the start is on the next day."""
        kit.check_form(request, form)
        principal = staff(request, scopes.RESERVATIONS)
        kept = {name: form.get(name, "") for name in ("date", "start", "end")}
        try:
            with ctx.database.read() as session:
                reservation = service.get_reservation(session, principal.tenant_id, reservation_id)
                callers.check_venue(session, principal, reservation.resource_id)
                zone = desk_view.places(session, principal, reservation.resource_id).zone(
                    reservation.resource_id
                )
            start = desk_view.local_moment(kept["date"], kept["start"], zone, "start")
            end = desk_view.local_moment(kept["date"], kept["end"], zone, "end")
            if end <= start:
                end = desk_view.local_moment(
                    (start.astimezone(ZoneInfo(zone)).date() + timedelta(days=1)).isoformat(),
                    kept["end"],
                    zone,
                    "end",
                )
            with write_transaction(ctx) as session:
                service.move_reservation(
                    ctx,
                    session,
                    principal.tenant_id,
                    reservation_id,
                    ReservationMove(start=start, end=end),
                )
        except AppError as exc:
            if exc.status not in (409, 422):
                raise
            errors = _local_errors(request, exc)
            if "" in errors or not set(errors) <= {"date", "start", "end"}:
                errors = {"start": " ".join(errors.values())}
            return detail_view(
                ctx, request, reservation_id, status=exc.status, errors=errors, values=kept
            )
        return _done(reservation_id, "moved", form)

    @router.post(f"{base}/open", response_model=None)
    def open_door(reservation_id: str, request: Request, form: kit.Form) -> Response:
        """Opens one of the reservation's doors now (as `POST …/open`), while its access is
        valid there; the hub is asked with no transaction open."""
        kit.check_form(request, form)
        principal = staff(request, scopes.DOORS_OPEN)
        try:
            body = doors.DoorOpenIn(door=form.get("door", ""))
            with ctx.database.read() as session:
                plan = doors.plan_open(ctx, session, principal, reservation_id, body.door)
            doors.send_open(ctx, plan, principal.actor)
        except ValidationError as exc:
            errors = {"door": kit.field_errors(request, exc).get("door", "")}
            return detail_view(ctx, request, reservation_id, status=422, errors=errors)
        except AppError as exc:
            if exc.status in (401, 403, 404):
                raise
            errors = {"door": " ".join(_local_errors(request, exc).values())}
            return detail_view(ctx, request, reservation_id, status=exc.status, errors=errors)
        return _done(reservation_id, "opened", form)

    return router
