"""The series API under `/api/v1/series`: a club's weekly season, booked, read, decided and
cancelled as a whole (one occurrence is moved or cancelled through its reservation)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Security
from sqlalchemy.orm import Session

from hallkey.booking import callers, scopes, series, series_views, tokens
from hallkey.booking.api import needs, write_transaction
from hallkey.booking.context import BookingContext
from hallkey.booking.office_schemas import ApproveIn, DenyIn
from hallkey.booking.series_models import Series
from hallkey.booking.series_schemas import SeriesCancel, SeriesCreate, SeriesOut
from hallkey.core.errors import NotFound
from hallkey.core.schemas import ERROR_RESPONSES


def build_routers(ctx: BookingContext) -> list[APIRouter]:
    """Returns the routers of the series API (full paths)."""
    token = callers.request_key(
        ctx, tokens.verify, scheme_name="bookingToken", description="API token or sign-in"
    )
    router = APIRouter(
        prefix="/api/v1",
        tags=["series"],
        responses=ERROR_RESPONSES,
        dependencies=[Security(token)],
    )

    def principal_of(request: Request, session: Session, scope: str) -> tokens.Principal:
        return callers.principal_of(ctx, session, request, scope)

    def visible(principal: tokens.Principal, session: Session, series_id: str) -> Series:
        row = series.get_series(session, principal.tenant_id, series_id)
        try:
            callers.check_venue(session, principal, row.resource_id)
        except NotFound:
            raise NotFound("unknown series") from None
        return row

    @router.post(
        "/series",
        status_code=201,
        response_model=SeriesOut,
        openapi_extra=needs(scopes.RESERVATIONS),
    )
    def create_series(body: SeriesCreate, request: Request) -> SeriesOut:
        """Books a weekly series: one reservation per occurrence, one ref and one grant with a
        window per occurrence. 409 `series_conflict` lists the occurrences that cannot be
        booked (`on_conflict: "fail"`); with `"skip"` they are listed in `conflicts`."""
        tenant_id = callers.principal_first(ctx, request, scopes.RESERVATIONS).tenant_id
        with write_transaction(ctx) as session:
            result = series.create_series(ctx, session, tenant_id, body)
            return series_views.series_view(ctx, session, result.series, result=result)

    @router.get(
        "/series/{series_id}",
        response_model=SeriesOut,
        openapi_extra=needs(scopes.RESERVATIONS_READ),
    )
    def get_series(series_id: str, request: Request) -> SeriesOut:
        """Returns a series with its access and occurrences (a caretaker: of its venues)."""
        with ctx.database.read() as session:
            principal = principal_of(request, session, scopes.RESERVATIONS_READ)
            return series_views.series_view(ctx, session, visible(principal, session, series_id))

    @router.post(
        "/series/{series_id}/cancel",
        response_model=SeriesOut,
        openapi_extra=needs(scopes.RESERVATIONS),
    )
    def cancel_series(
        series_id: str, request: Request, body: SeriesCancel | None = None
    ) -> SeriesOut:
        """Cancels the occurrences from the local date `from` on, or (without it) every one
        not yet begun and the series; the grant's windows follow. A repeat changes nothing."""
        with write_transaction(ctx) as session:
            principal = principal_of(request, session, scopes.RESERVATIONS)
            row = series.cancel_series(
                ctx, session, principal.tenant_id, series_id, body or SeriesCancel()
            )
            return series_views.series_view(ctx, session, row)

    @router.post(
        "/series/{series_id}/approve",
        response_model=SeriesOut,
        openapi_extra=needs(scopes.DECIDE),
    )
    def approve_series(
        series_id: str, request: Request, body: ApproveIn | None = None
    ) -> SeriesOut:
        """Confirms a requested series as a whole (case officer); its access is then
        granted. A repeat changes nothing, after a denial it is a 409."""
        return decide(request, series_id, approve=True, reason=body.reason if body else None)

    @router.post(
        "/series/{series_id}/deny",
        response_model=SeriesOut,
        openapi_extra=needs(scopes.DECIDE),
    )
    def deny_series(series_id: str, body: DenyIn, request: Request) -> SeriesOut:
        """Denies a requested series as a whole with a reason the customer is told."""
        return decide(request, series_id, approve=False, reason=body.reason)

    def decide(request: Request, series_id: str, *, approve: bool, reason: str | None) -> SeriesOut:
        with write_transaction(ctx) as session:
            principal = principal_of(request, session, scopes.DECIDE)
            visible(principal, session, series_id)
            row = series.decide_series(
                ctx,
                session,
                principal.tenant_id,
                series_id,
                approve=approve,
                actor=principal.actor,
                reason=reason,
            )
            return series_views.series_view(ctx, session, row)

    return [router]
