"""The booking JSON API under `/api/v1`: thin endpoints over the service.

Every endpoint with a token names the one scope it needs (`hallkey.booking.scopes`); it is
also shown in the OpenAPI document as `x-required-scope`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, Security
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hallkey.booking import (
    callers,
    customers,
    desk,
    doors,
    events,
    hub_webhook,
    prices,
    public,
    reservation_views,
    scopes,
    service,
    tokens,
)
from hallkey.booking import repository as repo
from hallkey.booking.context import BookingContext
from hallkey.booking.models import Reservation
from hallkey.booking.office_schemas import ApproveIn, CancelIn, DenyIn
from hallkey.booking.qr import qr_svg
from hallkey.booking.schemas import (
    AccessEventsIn,
    AvailabilityOut,
    CustomerExportOut,
    PriceGroup,
    QuoteOut,
    ReservationCreate,
    ReservationMove,
    ReservationOut,
    ResourceOut,
    WebhookAck,
)
from hallkey.core.batches import BatchAnswer
from hallkey.core.errors import NotFound, Unauthorized
from hallkey.core.schemas import ERROR_RESPONSES, UtcDatetime

TENANT_QUERY = Query(
    default=None,
    min_length=1,
    max_length=64,
    description="the tenant's slug, when the host name does not tell",
)


def needs(scope: str) -> dict[str, Any]:
    """Returns the OpenAPI extra that documents the scope an endpoint needs."""
    return {"x-required-scope": scope}


@contextmanager
def write_transaction(ctx: BookingContext) -> Iterator[Session]:
    """Yields a session in a transaction that a request commits, its constraint violations
    answered as 409 (a race the checks could not see surfaces at commit: never a 5xx)."""
    try:
        with ctx.database.transaction() as session:
            yield session
    except IntegrityError as exc:
        raise service.conflict_from_integrity(exc) from exc


def build_routers(ctx: BookingContext) -> list[APIRouter]:
    """Returns the routers of the booking API (full paths)."""

    token = callers.request_key(
        ctx, tokens.verify, scheme_name="bookingToken", description="API token or sign-in"
    )
    open_router = APIRouter(prefix="/api/v1", tags=["booking"], responses=ERROR_RESPONSES)
    router = APIRouter(
        prefix="/api/v1",
        tags=["booking"],
        responses=ERROR_RESPONSES,
        dependencies=[Security(token)],
    )

    def transaction() -> AbstractContextManager[Session]:
        return write_transaction(ctx)

    def tenant_of(request: Request, session: Session, scope: str) -> str:
        return principal_of(request, session, scope).tenant_id

    def principal_of(request: Request, session: Session, scope: str) -> tokens.Principal:
        return callers.principal_of(ctx, session, request, scope)

    def readable(request: Request, session: Session, reservation_id: str) -> Reservation:
        # A caretaker reads its venues' reservations only; another venue's is unknown to it.
        principal = principal_of(request, session, scopes.RESERVATIONS_READ)
        reservation = service.get_reservation(session, principal.tenant_id, reservation_id)
        callers.check_venue(session, principal, reservation.resource_id)
        return reservation

    @open_router.get("/resources", response_model=list[ResourceOut])
    def list_resources(request: Request, tenant: str | None = TENANT_QUERY) -> list[ResourceOut]:
        """Lists what one tenant offers for booking (public)."""
        with ctx.database.read() as session:
            tenant_id = public.resolve_tenant(session, request.headers.get("host"), tenant)
            return public.list_resources(session, tenant_id)

    @open_router.get("/resources/{resource_id}/availability", response_model=AvailabilityOut)
    def availability(
        resource_id: str,
        request: Request,
        # Annotated, not a default: FastAPI drops UtcDatetime's validator from `= Query()`.
        from_: Annotated[UtcDatetime, Query(alias="from")],
        to: Annotated[UtcDatetime, Query()],
        tenant: str | None = TENANT_QUERY,
    ) -> AvailabilityOut:
        """Tells when a resource is busy and free between `from` and `to` (public)."""
        with ctx.database.read() as session:
            tenant_id = public.resolve_tenant(session, request.headers.get("host"), tenant)
            return public.availability(session, tenant_id, resource_id, from_, to, ctx.clock.now())

    @open_router.get("/resources/{resource_id}/price", response_model=QuoteOut)
    def price(
        resource_id: str,
        request: Request,
        start: Annotated[UtcDatetime, Query()],
        end: Annotated[UtcDatetime, Query()],
        group: Annotated[PriceGroup | None, Query()] = None,
        tenant: str | None = TENANT_QUERY,
    ) -> QuoteOut:
        """Tells what booking a resource for `[start, end)` costs in a price group, before
        booking (public); 404 `no_price` when it has no price in that group."""
        with ctx.database.read() as session:
            tenant_id = public.resolve_tenant(session, request.headers.get("host"), tenant)
            return prices.quote_frame(session, tenant_id, resource_id, start, end, group)

    @router.post(
        "/reservations",
        status_code=201,
        response_model=ReservationOut,
        openapi_extra=needs(scopes.RESERVATIONS),
    )
    def create_reservation(body: ReservationCreate, request: Request) -> ReservationOut:
        """Reserves a resource; a confirmed reservation gets its access from the hub."""
        tenant_id = callers.principal_first(ctx, request, scopes.RESERVATIONS).tenant_id
        with transaction() as session:
            # Held here, the resource and its venue stay in the session's (weak) identity
            # map: the service's checks and the answer's view find them there instead of
            # reading them again.
            _held = repo.resource_with_venue(session, body.resource_id)
            reservation = service.create_reservation(ctx, session, tenant_id, body)
            return reservation_views.reservation_view(ctx, session, reservation, new=True)

    @router.get(
        "/reservations/{reservation_id}",
        response_model=ReservationOut,
        openapi_extra=needs(scopes.RESERVATIONS_READ),
    )
    def get_reservation(reservation_id: str, request: Request) -> ReservationOut:
        """Returns a reservation with its access and door events."""
        with ctx.database.read() as session:
            reservation = readable(request, session, reservation_id)
            return reservation_views.reservation_view(ctx, session, reservation)

    @router.get(
        "/reservations/{reservation_id}/mobile-key.svg",
        response_class=Response,
        openapi_extra=needs(scopes.RESERVATIONS_READ),
        responses={200: {"content": {"image/svg+xml": {}}}},
    )
    def mobile_key_qr(reservation_id: str, request: Request) -> Response:
        """Returns the reservation's mobile key as a QR code (SVG) holding exactly the token;
        404 while it has none."""
        with ctx.database.transaction() as session:
            reservation = readable(request, session, reservation_id)
            token = reservation_views.reservation_view(ctx, session, reservation).access.mobile_key
        if token is None:
            raise NotFound("this reservation has no mobile key", code="no_mobile_key")
        return Response(qr_svg(token), media_type="image/svg+xml")

    @router.patch(
        "/reservations/{reservation_id}",
        response_model=ReservationOut,
        openapi_extra=needs(scopes.RESERVATIONS),
    )
    def move_reservation(
        reservation_id: str, body: ReservationMove, request: Request
    ) -> ReservationOut:
        """Moves a reservation; its access follows."""
        with transaction() as session:
            tenant_id = tenant_of(request, session, scopes.RESERVATIONS)
            reservation = service.move_reservation(ctx, session, tenant_id, reservation_id, body)
            return reservation_views.reservation_view(ctx, session, reservation)

    @router.post(
        "/reservations/{reservation_id}/cancel",
        response_model=ReservationOut,
        openapi_extra=needs(scopes.RESERVATIONS),
    )
    def cancel_reservation(
        reservation_id: str, request: Request, body: CancelIn | None = None
    ) -> ReservationOut:
        """Cancels a reservation and revokes its access; a repeat changes nothing. The body,
        if any, is an empty object."""
        with transaction() as session:
            tenant_id = tenant_of(request, session, scopes.RESERVATIONS)
            reservation = service.cancel_reservation(ctx, session, tenant_id, reservation_id)
            return reservation_views.reservation_view(ctx, session, reservation)

    @router.post(
        "/reservations/{reservation_id}/approve",
        response_model=ReservationOut,
        openapi_extra=needs(scopes.DECIDE),
    )
    def approve_reservation(
        reservation_id: str, request: Request, body: ApproveIn | None = None
    ) -> ReservationOut:
        """Confirms a requested reservation (case officer); its access is then granted. Who
        decided and when are kept; a repeat changes nothing, after a denial it is a 409."""
        reason = body.reason if body is not None else None
        return decide(request, reservation_id, approve=True, reason=reason)

    @router.post(
        "/reservations/{reservation_id}/deny",
        response_model=ReservationOut,
        openapi_extra=needs(scopes.DECIDE),
    )
    def deny_reservation(reservation_id: str, body: DenyIn, request: Request) -> ReservationOut:
        """Denies a requested reservation (case officer) with a reason the customer is told.
        Who decided, when and why are kept; a repeat changes nothing, after an approval it is
        a 409."""
        return decide(request, reservation_id, approve=False, reason=body.reason)

    def decide(
        request: Request, reservation_id: str, *, approve: bool, reason: str | None
    ) -> ReservationOut:
        with transaction() as session:
            principal = principal_of(request, session, scopes.DECIDE)
            desk.check_venue(session, principal, reservation_id)
            reservation = service.decide_reservation(
                ctx,
                session,
                principal.tenant_id,
                reservation_id,
                approve=approve,
                actor=principal.actor,
                reason=reason,
            )
            return reservation_views.reservation_view(ctx, session, reservation)

    @router.post(
        "/reservations/{reservation_id}/open",
        response_model=doors.DoorOpenedOut,
        openapi_extra=needs(scopes.DOORS_OPEN),
    )
    def open_door(
        reservation_id: str, body: doors.DoorOpenIn, request: Request
    ) -> doors.DoorOpenedOut:
        """Opens one of the reservation's doors now, if its access is valid there now."""
        with ctx.database.read() as session:
            principal = principal_of(request, session, scopes.DOORS_OPEN)
            plan = doors.plan_open(ctx, session, principal, reservation_id, body.door)
        return doors.send_open(ctx, plan, principal.actor)

    @router.get(
        "/customers/{customer_id}",
        response_model=CustomerExportOut,
        openapi_extra=needs(scopes.CUSTOMERS),
    )
    def export_customer(customer_id: str, request: Request) -> CustomerExportOut:
        """Returns everything stored about a customer, with their reservations (the export)."""
        with ctx.database.read() as session:
            tenant_id = tenant_of(request, session, scopes.CUSTOMERS)
            return customers.export_customer(session, tenant_id, customer_id)

    @router.post(
        "/customers/{customer_id}/erase",
        response_model=CustomerExportOut,
        openapi_extra=needs(scopes.CUSTOMERS),
    )
    def erase_customer(customer_id: str, request: Request) -> CustomerExportOut:
        """Deletes the customer's personal data; the reservations and their refs stay."""
        with transaction() as session:
            tenant_id = tenant_of(request, session, scopes.CUSTOMERS)
            erased = customers.erase_customer(ctx, session, tenant_id, customer_id)
        ctx.database.scrub()  # the WAL still holds the erased rows' old pages
        return erased

    @router.post(
        "/access-events", response_model=BatchAnswer, openapi_extra=needs(scopes.EVENTS_WRITE)
    )
    def access_events(body: AccessEventsIn, request: Request) -> BatchAnswer:
        """Receives door events pushed by the hub: stores the good ones once, lists the bad."""
        with transaction() as session:
            tenant_id = tenant_of(request, session, scopes.EVENTS_WRITE)
            return events.record_access_events(ctx, session, tenant_id, body.events)

    @open_router.post("/hub-webhook/{slug}", response_model=WebhookAck)
    def hub_webhook_message(
        slug: str, request: Request, body: Annotated[bytes, Depends(raw_body)]
    ) -> WebhookAck:
        """Receives one signed message of the hub's webhook (a door event, a grant state);
        a wrong signature or a stale timestamp is a 401 and stores nothing (429 once an
        address has sent too many of those)."""
        address = request.client.host if request.client else "unknown"
        try:
            with ctx.database.read() as session:
                message = hub_webhook.verified(ctx, session, slug, body, request.headers)
        except Unauthorized:
            ctx.throttles.webhook_failures_per_address.hit(
                address, "too many failed webhook messages; try again later"
            )
            raise
        with transaction() as session:
            return WebhookAck(status=hub_webhook.take(ctx, session, message))

    return [open_router, router]


async def raw_body(request: Request) -> bytes:
    """Returns the request's body as sent: a signature covers these very bytes."""
    return await request.body()
