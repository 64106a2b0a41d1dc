"""The approval desk, price groups, customers and the customers' own sign-in, under `/api/v1`.

Staff endpoints name the scope they need (`x-required-scope`); the customers' own endpoints
(`/me…`) take the session cookie a one-time sign-in link gave (`x-customer-session`), and the
two that start a session are public.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response, Security
from sqlalchemy.orm import Session

from hallkey.booking import (
    callers,
    customer_records,
    desk,
    price_groups,
    public,
    reservation_views,
    scopes,
    service,
    setup_api,
    sign_in,
    tokens,
)
from hallkey.booking import office_repository as office_repo
from hallkey.booking.api import TENANT_QUERY, needs, write_transaction
from hallkey.booking.context import BookingContext
from hallkey.booking.office_schemas import (
    CustomerCreate,
    CustomerPageOut,
    CustomerPatch,
    CustomerRecordOut,
    MyReservationsOut,
    PriceGroupIn,
    PriceGroupOut,
    PriceGroupPatch,
    ReservationPageOut,
    SignedInOut,
    SignInIn,
    SignInLinkIn,
    SignInLinkOut,
)
from hallkey.booking.schemas import ReservationCreate, ReservationOut, ReservationStatus
from hallkey.core.errors import InvalidInput
from hallkey.core.schemas import ERROR_RESPONSES, UtcDatetime
from hallkey.core.security import hash_secret

CUSTOMER_SESSION = {"x-customer-session": True}

Limit = Annotated[int, Query(ge=1, le=desk.MAX_PAGE)]
Id = Annotated[str | None, Query(min_length=1, max_length=40)]
Cursor = Annotated[str | None, Query(min_length=1, max_length=400)]


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def build_routers(ctx: BookingContext) -> list[APIRouter]:
    """Returns the routers of the desk, price groups, customers and customer sign-in."""
    token = callers.request_key(
        ctx, tokens.verify, scheme_name="bookingToken", description="API token or sign-in"
    )
    staff = APIRouter(
        prefix="/api/v1",
        tags=["booking"],
        responses=ERROR_RESPONSES,
        dependencies=[Security(token)],
    )
    setup_router = setup_api.setup_router(ctx)
    customer = APIRouter(prefix="/api/v1", tags=["booking customers"], responses=ERROR_RESPONSES)
    links_per_email = ctx.throttles.links_per_email
    links_per_address = ctx.throttles.links_per_address
    sign_ins_per_address = ctx.throttles.sign_ins_per_address

    def transaction() -> AbstractContextManager[Session]:
        return write_transaction(ctx)

    def principal_of(request: Request, session: Session, scope: str) -> tokens.Principal:
        # The same callers as the rest of the API: tokens, personal tokens, staff sign-in.
        return callers.principal_of(ctx, session, request, scope)

    # --- the desk ------------------------------------------------------------------------

    @staff.get(
        "/reservations",
        response_model=ReservationPageOut,
        openapi_extra=needs(scopes.RESERVATIONS_READ),
    )
    def list_reservations(
        request: Request,
        from_: Annotated[UtcDatetime | None, Query(alias="from")] = None,
        to: Annotated[UtcDatetime | None, Query()] = None,
        status: Annotated[ReservationStatus | None, Query()] = None,
        resource: Id = None,
        venue: Id = None,
        customer: Id = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> ReservationPageOut:
        """Lists the tenant's reservations by start time, those overlapping `from` to `to` and
        matching the filters (e.g. `status=requested&venue=…` for a case officer's requests);
        `next_cursor` fetches the next page."""
        if from_ is not None and to is not None and to <= from_:
            raise InvalidInput("to must be after from", field="to")
        with ctx.database.read() as session:
            principal = principal_of(request, session, scopes.RESERVATIONS_READ)
            where = office_repo.ReservationFilter(
                tenant_id=principal.tenant_id,
                venue_ids=principal.venue_ids,
                status=status,
                resource_id=resource,
                venue_id=venue,
                customer_id=customer,
                start_before=to,
                end_after=from_,
            )
            return desk.list_reservations(session, principal, where, cursor=cursor, limit=limit)

    # --- price groups --------------------------------------------------------------------

    def setup_tenant(request: Request, session: Session, tenant: str | None) -> str:
        return callers.setup_tenant(ctx, session, request, tenant)

    @setup_router.get(
        "/price-groups", response_model=list[PriceGroupOut], openapi_extra=needs(scopes.SETUP)
    )
    def list_price_groups(
        request: Request, tenant: str | None = TENANT_QUERY
    ) -> list[PriceGroupOut]:
        """Lists the tenant's price groups."""
        with ctx.database.read() as session:
            return price_groups.list_groups(session, setup_tenant(request, session, tenant))

    @setup_router.post(
        "/price-groups",
        status_code=201,
        response_model=PriceGroupOut,
        openapi_extra=needs(scopes.SETUP),
    )
    def create_price_group(
        body: PriceGroupIn, request: Request, tenant: str | None = TENANT_QUERY
    ) -> PriceGroupOut:
        """Creates a price group (its key is what prices refer to); 409 if the key exists."""
        with transaction() as session:
            tenant_id = setup_tenant(request, session, tenant)
            return price_groups.create_group(ctx, session, tenant_id, body)

    @setup_router.patch(
        "/price-groups/{key}", response_model=PriceGroupOut, openapi_extra=needs(scopes.SETUP)
    )
    def update_price_group(
        key: str, body: PriceGroupPatch, request: Request, tenant: str | None = TENANT_QUERY
    ) -> PriceGroupOut:
        """Changes a price group's name or whether its customers' bookings need approval."""
        with transaction() as session:
            tenant_id = setup_tenant(request, session, tenant)
            return price_groups.update_group(ctx, session, tenant_id, key, body)

    # --- customers (staff) ---------------------------------------------------------------

    @staff.get("/customers", response_model=CustomerPageOut, openapi_extra=needs(scopes.CUSTOMERS))
    def search_customers(
        request: Request,
        q: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
        org_number: Annotated[str | None, Query(min_length=1, max_length=32)] = None,
        kind: Annotated[Literal["person", "organisation"] | None, Query()] = None,
        price_group: Annotated[str | None, Query(min_length=1, max_length=40)] = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> CustomerPageOut:
        """Finds the tenant's customers: `q` in the e-mail, name or organisation, or by
        `org_number`, kind and price group; `next_cursor` fetches the next page."""
        number = None
        if org_number is not None:
            number = "".join(c for c in org_number if c.isdigit())
            if len(number) != 9:
                raise InvalidInput("org_number has nine digits", field="org_number")
        with ctx.database.read() as session:
            principal = principal_of(request, session, scopes.CUSTOMERS)
            where = office_repo.CustomerFilter(
                tenant_id=principal.tenant_id,
                text=q.strip() if q and q.strip() else None,
                org_number=number,
                kind=kind,
                price_group=price_group,
            )
            return customer_records.search_customers(session, where, cursor=cursor, limit=limit)

    @staff.post(
        "/customers",
        status_code=201,
        response_model=CustomerRecordOut,
        openapi_extra=needs(scopes.CUSTOMERS),
    )
    def create_customer(body: CustomerCreate, request: Request) -> CustomerRecordOut:
        """Registers a person or an organisation (with its org number and contact persons)."""
        with transaction() as session:
            principal = principal_of(request, session, scopes.CUSTOMERS)
            return customer_records.create_customer(ctx, session, principal.tenant_id, body)

    @staff.patch(
        "/customers/{customer_id}",
        response_model=CustomerRecordOut,
        openapi_extra=needs(scopes.CUSTOMERS),
    )
    def update_customer(
        customer_id: str, body: CustomerPatch, request: Request
    ) -> CustomerRecordOut:
        """Changes a customer's details, price group or contact persons."""
        with transaction() as session:
            principal = principal_of(request, session, scopes.CUSTOMERS)
            return customer_records.update_customer(
                ctx, session, principal.tenant_id, customer_id, body
            )

    # --- the customers' own sign-in ------------------------------------------------------

    @customer.post("/customer-session/link", status_code=202, response_model=SignInLinkOut)
    def request_link(body: SignInLinkIn, request: Request) -> SignInLinkOut:
        """E-mails a one-time sign-in link (15 minutes) if the address is a customer's; the
        answer is the same either way. Throttled per address and per e-mail (429)."""
        links_per_address.hit(_address(request))
        links_per_email.hit(hash_secret(body.email))
        with transaction() as session:
            tenant_id = public.resolve_tenant(session, request.headers.get("host"), body.tenant)
            sign_in.request_link(ctx, session, tenant_id, body.email)
        return SignInLinkOut()

    @customer.post("/customer-session", response_model=SignedInOut)
    def start_session(body: SignInIn, request: Request, response: Response) -> SignedInOut:
        """Trades a sign-in link's token (once) for a session cookie (HttpOnly, SameSite=Lax)."""
        sign_ins_per_address.hit(_address(request))
        with transaction() as session:
            token, record = sign_in.redeem(ctx, session, body.token)
            who = customer_records.get_customer(session, record.tenant_id, record.customer_id)
        response.set_cookie(
            sign_in.COOKIE,
            token,
            max_age=sign_in.SESSION_DAYS * 24 * 3600,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
            path="/",
        )
        return SignedInOut(
            customer_id=who.id, name=who.name, email=who.email, expires_at=record.expires_at
        )

    @customer.delete("/customer-session", status_code=204, openapi_extra=CUSTOMER_SESSION)
    def end_session(request: Request) -> Response:
        """Signs the customer out (the session ends on the server too)."""
        with transaction() as session:
            _, record = sign_in.signed_in(ctx, session, request.cookies.get(sign_in.COOKIE))
            sign_in.sign_out(session, record)
        response = Response(status_code=204)
        response.delete_cookie(sign_in.COOKIE, path="/")
        return response

    @customer.get("/me", response_model=CustomerRecordOut, openapi_extra=CUSTOMER_SESSION)
    def me(request: Request) -> CustomerRecordOut:
        """Returns the signed-in customer's own record."""
        with ctx.database.read() as session:
            who, _ = sign_in.signed_in(ctx, session, request.cookies.get(sign_in.COOKIE))
            return customer_records.get_customer(session, who.tenant_id, who.id)

    @customer.get(
        "/me/reservations", response_model=MyReservationsOut, openapi_extra=CUSTOMER_SESSION
    )
    def my_reservations(
        request: Request, cursor: Cursor = None, limit: Limit = 50
    ) -> MyReservationsOut:
        """Lists the signed-in customer's reservations by start time, each with its access."""
        with ctx.database.read() as session:
            who, _ = sign_in.signed_in(ctx, session, request.cookies.get(sign_in.COOKIE))
            return desk.customer_reservations(ctx, session, who, cursor=cursor, limit=limit)

    @customer.post(
        "/me/reservations",
        status_code=201,
        response_model=ReservationOut,
        openapi_extra=CUSTOMER_SESSION,
    )
    def book_as_me(body: ReservationCreate, request: Request) -> ReservationOut:
        """Books as the signed-in customer: with their own e-mail, the name and phone given
        become their record's; with another e-mail it is an ordinary booking."""
        with ctx.database.read() as session:
            who, _ = sign_in.signed_in(ctx, session, request.cookies.get(sign_in.COOKIE))
            tenant_id, customer_id = who.tenant_id, who.id
        if body.price_group is not None:
            # A customer pays as their own group (set by staff), never one they name.
            raise InvalidInput("a customer books in their own price group", field="price_group")
        with transaction() as session:
            reservation = service.create_reservation(
                ctx, session, tenant_id, body, proven=customer_id
            )
            return reservation_views.reservation_view(ctx, session, reservation, new=True)

    return [staff, setup_router, customer]
