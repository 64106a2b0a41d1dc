"""Application rounds under `/api/v1/rounds…` and `/api/v1/me/applications`.

Case officers and admins (the `decide` scope: allocating halls is a case officer's decision)
open, change, overview, allocate, decline, publish and count; organisations apply without a
token (throttled per address; the tenant by host name or `?tenant=`; as a signed-in customer
when the customer cookie is sent) and read their own application with its secret key.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response, Security
from sqlalchemy.orm import Session

from hallkey.booking import (
    callers,
    public,
    rounds,
    rounds_desk,
    rounds_publish,
    rounds_stats,
    rounds_views,
    scopes,
    sign_in,
    tokens,
)
from hallkey.booking.api import TENANT_QUERY, needs, write_transaction
from hallkey.booking.context import BookingContext
from hallkey.booking.office_api import CUSTOMER_SESSION
from hallkey.booking.rounds_schemas import (
    AllocationCreate,
    AllocationOut,
    ApplicationCreate,
    ApplicationCreated,
    ApplicationOut,
    DeclineIn,
    OverviewOut,
    PublishOut,
    RoundCreate,
    RoundOut,
    RoundPatch,
    StatisticsOut,
    WishOut,
)
from hallkey.core.schemas import ERROR_RESPONSES
from hallkey.core.throttle import Rate, Throttle

APPLICATIONS_PER_ADDRESS = Rate(limit=30, per_seconds=3600)
KEY_HEADER = "X-Application-Key"
DECIDE = needs(scopes.DECIDE)


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def build_routers(ctx: BookingContext) -> list[APIRouter]:
    """Returns the routers of application rounds."""
    token = callers.request_key(
        ctx, tokens.verify, scheme_name="bookingToken", description="API token or sign-in"
    )
    staff = APIRouter(
        prefix="/api/v1",
        tags=["booking rounds"],
        responses=ERROR_RESPONSES,
        dependencies=[Security(token)],
    )
    open_router = APIRouter(prefix="/api/v1", tags=["booking rounds"], responses=ERROR_RESPONSES)
    applications_per_address = Throttle(
        "round applications per address", APPLICATIONS_PER_ADDRESS, ctx.clock
    )

    def transaction() -> AbstractContextManager[Session]:
        return write_transaction(ctx)

    def officer(request: Request, session: Session) -> tokens.Principal:
        return callers.principal_of(ctx, session, request, scopes.DECIDE)

    @staff.post("/rounds", status_code=201, response_model=RoundOut, openapi_extra=DECIDE)
    def create_round(body: RoundCreate, request: Request) -> RoundOut:
        """Opens an application round for the resources and the season, until the deadline."""
        with transaction() as session:
            principal = officer(request, session)
            return rounds.create_round(ctx, session, principal.tenant_id, body, principal.actor)

    @staff.get("/rounds", response_model=list[RoundOut], openapi_extra=DECIDE)
    def list_rounds(request: Request) -> list[RoundOut]:
        """Lists the tenant's rounds, the latest deadline first."""
        with ctx.database.read() as session:
            tenant_id = officer(request, session).tenant_id
            return rounds.list_rounds(session, tenant_id, ctx.clock.now())

    @staff.get("/rounds/{round_id}", response_model=RoundOut, openapi_extra=DECIDE)
    def get_round(round_id: str, request: Request) -> RoundOut:
        """Returns a round with its status (`open`, `closed`, `publishing`, `published`)."""
        with ctx.database.read() as session:
            tenant_id = officer(request, session).tenant_id
            round_ = rounds.get_round(session, tenant_id, round_id)
            return rounds.round_out(session, round_, ctx.clock.now())

    @staff.patch("/rounds/{round_id}", response_model=RoundOut, openapi_extra=DECIDE)
    def update_round(round_id: str, body: RoundPatch, request: Request) -> RoundOut:
        """Changes a round while it is open (409 `round_closed` after its deadline)."""
        with transaction() as session:
            tenant_id = officer(request, session).tenant_id
            return rounds.update_round(ctx, session, tenant_id, round_id, body)

    @open_router.post(
        "/rounds/{round_id}/applications", status_code=201, response_model=ApplicationCreated
    )
    def apply(
        round_id: str,
        body: ApplicationCreate,
        request: Request,
        tenant: str | None = TENANT_QUERY,
    ) -> ApplicationCreated:
        """Applies to a round for an organisation (public; throttled per address). Answers the
        application with its secret `key` (shown once, and e-mailed with the receipt); 409
        `round_closed` from the deadline on. Applications hold no time."""
        applications_per_address.hit(_address(request))
        customer_cookie = request.cookies.get(sign_in.COOKIE)
        with transaction() as session:
            tenant_id = public.resolve_tenant(session, request.headers.get("host"), tenant)
            customer_id = None
            if customer_cookie:
                who, _ = sign_in.signed_in(ctx, session, customer_cookie)
                if who.tenant_id == tenant_id:
                    customer_id = who.id
            return rounds.apply(ctx, session, tenant_id, round_id, body, customer_id)

    @staff.get(
        "/rounds/{round_id}/applications",
        response_model=list[ApplicationOut],
        openapi_extra=DECIDE,
    )
    def list_applications(round_id: str, request: Request) -> list[ApplicationOut]:
        """Lists a round's applications with their wishes and allocations."""
        with ctx.database.read() as session:
            tenant_id = officer(request, session).tenant_id
            return rounds_views.list_applications(
                session, rounds.get_round(session, tenant_id, round_id)
            )

    @open_router.get(
        "/rounds/{round_id}/applications/{application_id}",
        response_model=ApplicationOut,
        openapi_extra=DECIDE,
    )
    def get_application(
        round_id: str,
        application_id: str,
        request: Request,
        key: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
        x_application_key: Annotated[
            str | None, Header(alias=KEY_HEADER, min_length=1, max_length=128)
        ] = None,
    ) -> ApplicationOut:
        """Returns one application: to its applicant with their key (`X-Application-Key`, or
        `?key=` as in the receipt's link) or signed in as the customer who applied; to the
        tenant's case officers with `decide`."""
        secret = x_application_key or key
        with ctx.database.read() as session:
            if secret is not None:
                application = rounds.application_by_key(session, round_id, application_id, secret)
                return rounds_views.application_view(session, application)
            cookie = request.cookies.get(sign_in.COOKIE)
            if cookie and "authorization" not in request.headers:
                who, _ = sign_in.signed_in(ctx, session, cookie)
                application = rounds.get_application(
                    session, who.tenant_id, round_id, application_id
                )
                if application.customer_id != who.id:
                    raise rounds.unknown_application()
                return rounds_views.application_view(session, application)
            tenant_id = officer(request, session).tenant_id
            application = rounds.get_application(session, tenant_id, round_id, application_id)
            return rounds_views.application_view(session, application)

    @open_router.get(
        "/me/applications", response_model=list[ApplicationOut], openapi_extra=CUSTOMER_SESSION
    )
    def my_applications(request: Request) -> list[ApplicationOut]:
        """Lists the applications the signed-in customer made, the newest first."""
        with ctx.database.read() as session:
            who, _ = sign_in.signed_in(ctx, session, request.cookies.get(sign_in.COOKIE))
            return rounds_views.customer_applications(session, who.id)

    @staff.get("/rounds/{round_id}/overview", response_model=OverviewOut, openapi_extra=DECIDE)
    def overview(round_id: str, request: Request) -> OverviewOut:
        """Shows per resource and weekday the wishes, the wishes each clashes with, the
        existing reservations of the period each would meet, and the allocations."""
        with ctx.database.read() as session:
            tenant_id = officer(request, session).tenant_id
            round_ = rounds.get_round(session, tenant_id, round_id)
            return rounds_desk.overview(ctx, session, round_)

    @staff.post(
        "/rounds/{round_id}/allocations",
        status_code=201,
        response_model=AllocationOut,
        openapi_extra=DECIDE,
    )
    def allocate(round_id: str, body: AllocationCreate, request: Request) -> AllocationOut:
        """Allocates a wish its slot, part of it, or another slot (after the deadline); 409
        `allocation_overlaps` naming the allocations it would overlap."""
        with transaction() as session:
            principal = officer(request, session)
            return rounds_desk.allocate(
                ctx, session, principal.tenant_id, round_id, body, principal.actor
            )

    @staff.delete(
        "/rounds/{round_id}/allocations/{allocation_id}", status_code=204, openapi_extra=DECIDE
    )
    def delete_allocation(round_id: str, allocation_id: str, request: Request) -> Response:
        """Takes an allocation back before publishing; its wish is undecided again."""
        with transaction() as session:
            tenant_id = officer(request, session).tenant_id
            rounds_desk.delete_allocation(ctx, session, tenant_id, round_id, allocation_id)
        return Response(status_code=204)

    @staff.post(
        "/rounds/{round_id}/wishes/{wish_id}/decline", response_model=WishOut, openapi_extra=DECIDE
    )
    def decline(round_id: str, wish_id: str, body: DeclineIn, request: Request) -> WishOut:
        """Declines a wish with the reason the applicant is told."""
        with transaction() as session:
            principal = officer(request, session)
            return rounds_desk.decline(
                ctx, session, principal.tenant_id, round_id, wish_id, body.reason, principal.actor
            )

    @staff.post("/rounds/{round_id}/publish", response_model=PublishOut, openapi_extra=DECIDE)
    def publish(round_id: str, request: Request) -> PublishOut:
        """Turns every allocation into a confirmed weekly series with its key, and e-mails
        each applicant what they got; again, it finishes what failed and repeats nothing."""
        with ctx.database.read() as session:
            principal = officer(request, session)
        return rounds_publish.publish(ctx, principal.tenant_id, round_id, principal.actor)

    @staff.get("/rounds/{round_id}/statistics", response_model=StatisticsOut, openapi_extra=DECIDE)
    def statistics(round_id: str, request: Request) -> StatisticsOut:
        """Counts wished and allocated hours per organisation and per age group."""
        with ctx.database.read() as session:
            tenant_id = officer(request, session).tenant_id
            round_ = rounds.get_round(session, tenant_id, round_id)
            return rounds_stats.statistics(session, round_, rounds_publish.series_minutes)

    return [staff, open_router]
