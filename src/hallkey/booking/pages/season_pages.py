"""A club's weekly series under `/admin/series`: the tenant's series with a status filter, and
one series with its occurrences, its access and the actions the role allows — approve or deny
it as a whole, cancel it from a date.

Each page checks the scope of the API endpoint that does the same (`reservations:read` to
read, `decide`, `reservations`) and calls its service (`series`, `series_views`): a caretaker
sees only the series of its venues, another venue's is a 404 as in `GET /api/v1/series/{id}`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from hallkey.booking import callers, scopes, series, series_views, usage
from hallkey.booking import repository as repo
from hallkey.booking import series_store as store
from hallkey.booking.api import write_transaction
from hallkey.booking.pages import desk_pages, desk_view, kit
from hallkey.booking.series_models import Series
from hallkey.booking.series_schemas import SeriesCancel
from hallkey.core.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from hallkey.booking.context import BookingContext
    from hallkey.booking.tokens import Principal

WEEKDAYS = {
    1: "Monday",
    2: "Tuesday",
    3: "Wednesday",
    4: "Thursday",
    5: "Friday",
    6: "Saturday",
    7: "Sunday",
}
"""ISO weekdays as the pages name them (catalog keys)."""
SERIES_NOTICES = {
    "approved": "Approved:",
    "denied": "Denied:",
    "cancelled": "Cancelled:",
}
Text = Annotated[str, Query(max_length=40)]


def weekday_names(request: Request, weekdays: list[int]) -> str:
    """Returns the weekdays of a rule in the page's language (`Tuesday, Thursday`)."""
    return ", ".join(kit.text(request, WEEKDAYS[d]) for d in sorted(weekdays) if d in WEEKDAYS)


@dataclass(frozen=True)
class SeriesRow:
    """One series of the list (read in the session, shown after it)."""

    id: str
    ref: str
    status: str
    access_state: str
    start_time: str
    end_time: str
    from_date: date
    to_date: date
    customer: str | None
    resource: str
    venue: str
    days: str


def visible(session: Session, principal: Principal, series_id: str) -> Series:
    """Returns the tenant's series if the staff member may see its venue (as the API)."""
    row = series.get_series(session, principal.tenant_id, series_id)
    try:
        callers.check_venue(session, principal, row.resource_id)
    except NotFound:
        raise NotFound("unknown series") from None
    return row


def list_view(ctx: BookingContext, request: Request, status: str) -> HTMLResponse:
    """Renders the tenant's series (a caretaker: of its venues), newest first."""
    errors: dict[str, str] = {}
    if status and status not in desk_pages.STATUSES:
        errors["status"] = kit.text(request, "Not valid.")
    with ctx.database.read() as session:
        who = kit.visitor(ctx, session, request)
        principal = kit.require_staff(who, scopes.RESERVATIONS_READ)
        found = desk_view.places(session, principal)
        shown: list[SeriesRow] = []
        if not errors:
            rows = store.series_of_tenant(
                session,
                principal.tenant_id,
                status=status or None,
                resource_ids=None if principal.venue_ids is None else list(found.resources),
            )
            shown = [
                SeriesRow(
                    id=row.id,
                    ref=row.ref,
                    status=row.status,
                    access_state=row.access_state,
                    start_time=row.start_time,
                    end_time=row.end_time,
                    from_date=row.from_date,
                    to_date=row.to_date,
                    customer=row.contact_name,
                    resource=found.resource_name(row.resource_id),
                    venue=found.venue_name(row.resource_id),
                    days=weekday_names(request, list(row.weekdays)),
                )
                for row in rows
                if row.resource_id in found.resources
            ]
    return kit.render(
        request,
        "admin/season/series_list.html",
        who,
        status=422 if errors else 200,
        rows=shown,
        statuses=desk_pages.STATUSES,
        chosen=status,
        errors=errors,
    )


def detail_view(
    ctx: BookingContext,
    request: Request,
    series_id: str,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    """Renders one series for the signed-in staff member (a form's errors and values kept)."""
    with ctx.database.read() as session:
        who = kit.visitor(ctx, session, request)
        principal = kit.require_staff(who, scopes.RESERVATIONS_READ)
        row = visible(session, principal, series_id)
        view = series_views.series_view(ctx, session, row)
        found = desk_view.places(session, principal, row.resource_id)
        resource_id = row.resource_id
        resource = repo.resource(session, resource_id)
        assert resource is not None  # a foreign key guarantees it
        occurrences = store.occurrences(session, row.id)
        used = usage.usages(session, occurrences, {resource.id: resource}, ctx.clock.now())
        decided = (
            desk_view.decided_by(session, principal.tenant_id, view.decision.by)
            if view.decision is not None
            else None
        )
    done = request.query_params.get("done", "")
    notice = (
        f"{kit.text(request, SERIES_NOTICES[done])} {view.ref}" if done in SERIES_NOTICES else ""
    )
    return kit.render(
        request,
        "admin/season/series.html",
        who,
        status=status,
        s=view,
        days=weekday_names(request, view.weekdays),
        resource=found.resource_name(resource_id),
        venue=found.venue_name(resource_id),
        zone=found.zone(resource_id),
        usage=used,
        decided_by=decided,
        may_decide=who.may(scopes.DECIDE) and view.status == "requested",
        may_cancel=who.may(scopes.RESERVATIONS) and view.status in ("requested", "confirmed"),
        errors=errors or {},
        values={"reason": "", "from": "", **(values or {})},
        notice=notice,
        notice_ok=True,
    )


def _done(series_id: str, done: str) -> Response:
    return kit.see_other(f"/admin/series/{series_id}?" + urlencode({"done": done}))


def build_router(ctx: BookingContext) -> APIRouter:
    """Returns the router of the series pages and their actions."""
    router = APIRouter(route_class=kit.PageRoute, include_in_schema=False)
    base = "/admin/series/{series_id}"

    def staff(request: Request, scope: str) -> Principal:
        return kit.signed_in_staff(ctx, request, scope)[1]

    @router.get("/admin/series", response_class=HTMLResponse)
    def series_list(request: Request, status: Text = "") -> HTMLResponse:
        """The tenant's series, newest first, by status."""
        return list_view(ctx, request, status)

    @router.get(base, response_class=HTMLResponse)
    def series_page(series_id: str, request: Request) -> HTMLResponse:
        """One series with its occurrences, access and the actions the role allows."""
        return detail_view(ctx, request, series_id)

    def decide(
        request: Request, form: dict[str, str], series_id: str, *, approve: bool
    ) -> Response:
        kit.check_form(request, form)
        principal = staff(request, scopes.DECIDE)
        reason: str | None = None
        if not approve:
            reason, problem = desk_view.deny_reason(request, form)
            if problem:
                return detail_view(
                    ctx,
                    request,
                    series_id,
                    status=422,
                    errors={"reason": problem},
                    values={"reason": reason},
                )
        with write_transaction(ctx) as session:
            visible(session, principal, series_id)
            series.decide_series(
                ctx,
                session,
                principal.tenant_id,
                series_id,
                approve=approve,
                actor=principal.actor,
                reason=reason,
            )
        return _done(series_id, "approved" if approve else "denied")

    @router.post(f"{base}/approve", response_model=None)
    def approve(series_id: str, request: Request, form: kit.Form) -> Response:
        """Confirms a requested series as a whole (as `POST /api/v1/series/{id}/approve`)."""
        return decide(request, form, series_id, approve=True)

    @router.post(f"{base}/deny", response_model=None)
    def deny(series_id: str, request: Request, form: kit.Form) -> Response:
        """Denies a requested series with the reason the customer is told."""
        return decide(request, form, series_id, approve=False)

    @router.post(f"{base}/cancel", response_model=None)
    def cancel(series_id: str, request: Request, form: kit.Form) -> Response:
        """Cancels the occurrences from a local date on, or (empty) the whole series (as
        `POST /api/v1/series/{id}/cancel`)."""
        kit.check_form(request, form)
        principal = staff(request, scopes.RESERVATIONS)
        typed = form.get("from", "").strip()
        try:
            body = SeriesCancel(from_=date.fromisoformat(typed) if typed else None)
        except ValueError:
            error = InvalidInput("Not a valid date.", field="from")
            return detail_view(
                ctx,
                request,
                series_id,
                status=422,
                errors={"from": kit.text(request, error.message)},
                values={"from": typed},
            )
        with write_transaction(ctx) as session:
            visible(session, principal, series_id)
            series.cancel_series(ctx, session, principal.tenant_id, series_id, body)
        return _done(series_id, "cancelled")

    return router
