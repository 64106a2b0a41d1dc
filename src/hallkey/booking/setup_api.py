"""The booking set-up API: tenants and their tokens (operator), venues and resources (the
operator naming the tenant, or a tenant's token with the `setup` scope)."""

from __future__ import annotations

from contextlib import AbstractContextManager

from fastapi import APIRouter, Path, Request, Response, Security
from sqlalchemy.orm import Session

from hallkey.booking import callers, scopes, setup, venue_setup
from hallkey.booking.api import TENANT_QUERY, needs, write_transaction
from hallkey.booking.context import BookingContext
from hallkey.booking.setup_schemas import (
    IssuedTokenOut,
    ResourceIn,
    ResourcePatch,
    ResourceSetupOut,
    TenantOut,
    TenantPut,
    TokenIn,
    VenueIn,
    VenueOut,
    VenuePatch,
)
from hallkey.core.auth import ApiKey, database_key
from hallkey.core.schemas import ERROR_RESPONSES

OPERATOR_ONLY = {"x-operator-only": True}
SlugPath = Path(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")


def setup_router(ctx: BookingContext) -> APIRouter:
    """Returns an empty router of set-up endpoints: each takes the operator's key (naming the
    tenant), a tenant's token with the `setup` scope, or an admin's sign-in."""
    setup_key = setup_key_of(ctx)
    return APIRouter(
        prefix="/api/v1",
        tags=["booking set-up"],
        responses=ERROR_RESPONSES,
        dependencies=[Security(setup_key)],
    )


def build_routers(ctx: BookingContext) -> list[APIRouter]:
    """Returns the routers of the booking set-up API (full paths)."""
    operator_key = database_key(
        ctx.database,
        setup.authenticate_operator,
        scheme_name="bookingOperatorKey",
        description="booking operator key",
    )
    operator = APIRouter(
        prefix="/api/v1",
        tags=["booking set-up"],
        responses=ERROR_RESPONSES,
        dependencies=[Security(operator_key)],
    )
    router = setup_router(ctx)

    def transaction() -> AbstractContextManager[Session]:
        return write_transaction(ctx)

    def tenant_of(request: Request, session: Session, tenant: str | None) -> str:
        return callers.setup_tenant(ctx, session, request, tenant)

    @operator.get("/tenants/{slug}", response_model=TenantOut, openapi_extra=OPERATOR_ONLY)
    def get_tenant(slug: str = SlugPath) -> TenantOut:
        """Returns a tenant with its host names and tokens (operator)."""
        with ctx.database.transaction() as session:
            return setup.tenant_view(session, slug)

    @operator.put("/tenants/{slug}", response_model=TenantOut, openapi_extra=OPERATOR_ONLY)
    def put_tenant(body: TenantPut, response: Response, slug: str = SlugPath) -> TenantOut:
        """Creates the tenant (201) or brings it to the body (200) (operator)."""
        with transaction() as session:
            tenant, created = setup.put_tenant(ctx, session, slug, body)
        response.status_code = 201 if created else 200
        return tenant

    @operator.post(
        "/tenants/{slug}/tokens",
        status_code=201,
        response_model=IssuedTokenOut,
        openapi_extra=OPERATOR_ONLY,
    )
    def issue_token(body: TokenIn, slug: str = SlugPath) -> IssuedTokenOut:
        """Issues an API token of the tenant; its plaintext is shown only here (operator)."""
        with transaction() as session:
            return setup.issue_token(ctx, session, slug, body)

    @router.get("/venues", response_model=list[VenueOut], openapi_extra=needs(scopes.SETUP))
    def list_venues(request: Request, tenant: str | None = TENANT_QUERY) -> list[VenueOut]:
        """Lists the tenant's venues with all their resources and rules."""
        with ctx.database.transaction() as session:
            return venue_setup.list_venues(session, tenant_of(request, session, tenant))

    @router.post(
        "/venues", status_code=201, response_model=VenueOut, openapi_extra=needs(scopes.SETUP)
    )
    def create_venue(
        body: VenueIn, request: Request, tenant: str | None = TENANT_QUERY
    ) -> VenueOut:
        """Creates a venue (address, time zone)."""
        with transaction() as session:
            tenant_id = tenant_of(request, session, tenant)
            return venue_setup.create_venue(ctx, session, tenant_id, body)

    @router.patch("/venues/{venue_id}", response_model=VenueOut, openapi_extra=needs(scopes.SETUP))
    def update_venue(
        venue_id: str, body: VenuePatch, request: Request, tenant: str | None = TENANT_QUERY
    ) -> VenueOut:
        """Changes a venue's name, address or time zone."""
        with transaction() as session:
            tenant_id = tenant_of(request, session, tenant)
            return venue_setup.update_venue(ctx, session, tenant_id, venue_id, body)

    @router.post(
        "/resources",
        status_code=201,
        response_model=ResourceSetupOut,
        openapi_extra=needs(scopes.SETUP),
    )
    def create_resource(
        body: ResourceIn, request: Request, tenant: str | None = TENANT_QUERY
    ) -> ResourceSetupOut:
        """Creates a resource of a venue with its rules and doors."""
        with transaction() as session:
            tenant_id = tenant_of(request, session, tenant)
            return venue_setup.create_resource(ctx, session, tenant_id, body)

    @router.patch(
        "/resources/{resource_id}",
        response_model=ResourceSetupOut,
        openapi_extra=needs(scopes.SETUP),
    )
    def update_resource(
        resource_id: str, body: ResourcePatch, request: Request, tenant: str | None = TENANT_QUERY
    ) -> ResourceSetupOut:
        """Changes a resource's name, rules, doors, or deactivates it (never deletes it)."""
        with transaction() as session:
            tenant_id = tenant_of(request, session, tenant)
            return venue_setup.update_resource(ctx, session, tenant_id, resource_id, body)

    return [operator, router]


def setup_key_of(ctx: BookingContext) -> ApiKey:
    """Returns the key of set-up routes: the operator's key, a token with the `setup` scope, or
    an admin's sign-in."""
    return callers.request_key(
        ctx,
        setup.verify_setup_key,
        scheme_name="bookingSetupKey",
        description="booking operator key, an API token with the setup scope, or sign-in",
    )
