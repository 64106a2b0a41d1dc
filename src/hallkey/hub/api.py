"""The hub's JSON API (`/hub/v1/…`): thin endpoints around the service."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, Security
from sqlalchemy.orm import Session

from hallkey.core.auth import bearer_token, database_key
from hallkey.core.batches import BatchAnswer
from hallkey.core.pages import static_router
from hallkey.core.schemas import ERROR_RESPONSES, REF_PATTERN, ErrorResponse, UtcDatetime
from hallkey.hub import client_auth, grants, pulse, reconcile, service, views
from hallkey.hub.admin_pages import build_admin_router
from hallkey.hub.context import HubContext
from hallkey.hub.credentials import signing
from hallkey.hub.models import Client
from hallkey.hub.schemas import (
    ControllerEventsIn,
    DoorOut,
    EventOut,
    GrantAccessIn,
    GrantOut,
    JwksOut,
    PulseIn,
    PulseOut,
    ResendIn,
    RevokeAccessIn,
    UpdateAccessIn,
)
from hallkey.hub.sms_inbound import build_sms_router
from hallkey.hub.url_key_page import build_url_key_router

log = logging.getLogger(__name__)


def build_routers(ctx: HubContext) -> list[APIRouter]:
    """Returns the hub's routers, with full paths."""

    client_key = client_auth.client_key(ctx.database)
    events_key = database_key(
        ctx.database, service.authenticate_site, scheme_name="eventsKey", description="events key"
    )
    router = APIRouter(
        prefix="/hub/v1",
        tags=["hub"],
        responses=ERROR_RESPONSES,
        dependencies=[Security(client_key)],
    )
    site_router = APIRouter(
        prefix="/hub/v1",
        tags=["hub"],
        responses=ERROR_RESPONSES,
        dependencies=[Security(events_key)],
    )

    @contextmanager
    def unknown_refs(client: Client) -> Iterator[None]:
        """Counts the client's lookups of refs it has no grant for (429 beyond the rate)."""
        with ctx.throttles.ref_lookup(client.id):
            yield

    @contextmanager
    def client_transaction(request: Request) -> Iterator[tuple[Session, Client]]:
        """Opens the request's transaction as the client whose API key it presents."""
        with ctx.database.transaction() as session:
            yield session, client_auth.request_client(session, request, client_key)

    @contextmanager
    def client_read(request: Request) -> Iterator[tuple[Session, Client]]:
        """Opens a read-only session as the client whose API key the request presents (on
        SQLite it neither waits for nor holds the write lock)."""
        with ctx.database.read() as session:
            yield session, client_auth.request_client(session, request, client_key)

    @router.post("/GrantAccess", response_model=GrantOut, status_code=201)
    def grant_access(body: GrantAccessIn, request: Request, response: Response) -> GrantOut:
        """Grants a ref access to doors in a time frame, issuing and delivering a credential."""
        with client_transaction(request) as (session, client):
            grant, created, parts = grants.grant_access(ctx, session, client, body)
            if parts is None:  # an existing grant: its parts are read in its transaction
                if not created:
                    response.status_code = 200
                return views.grant_view(ctx, session, grant)
        # A new grant's answer is made from what was written, once the write lock is let go.
        return views.grant_view_of(ctx, grant, parts)

    @router.post("/UpdateAccess", response_model=GrantOut)
    def update_access(body: UpdateAccessIn, request: Request) -> GrantOut:
        """Moves, widens or re-doors a grant."""
        with client_transaction(request) as (session, client), unknown_refs(client):
            grant = grants.update_access(ctx, session, client, body)
            return views.grant_view(ctx, session, grant)

    @router.post("/RevokeAccess", response_model=GrantOut)
    def revoke_access(body: RevokeAccessIn, request: Request) -> GrantOut:
        """Makes the credential stop working on every door."""
        # Never throttled: a revocation must not wait, and it reveals nothing a guesser wants.
        with client_transaction(request) as (session, client):
            grant = grants.revoke_access(ctx, session, client, body)
            return views.grant_view(ctx, session, grant)

    @router.post(
        "/GrantPulseAccess",
        response_model=PulseOut,
        responses={503: {"model": ErrorResponse, "description": "door or site unavailable"}},
    )
    def grant_pulse_access(body: PulseIn, request: Request) -> PulseOut:
        """Opens a door now for a few seconds, if the grant is valid there now."""
        with client_transaction(request) as (session, client), unknown_refs(client):
            plan = service.plan_pulse(ctx, session, client, body)
        until = pulse.send_pulse(ctx, plan)
        return PulseOut(ref=plan.ref, door=plan.door.id, unlocked_until=until)

    @router.post("/ResendAccess", response_model=GrantOut)
    def resend_access(body: ResendIn, request: Request) -> GrantOut:
        """Delivers the credential again."""
        with client_transaction(request) as (session, client), unknown_refs(client):
            grant = service.resend_access(ctx, session, client, body)
            return views.grant_view(ctx, session, grant)

    @router.get("/grants/{ref}", response_model=GrantOut)
    def get_grant(ref: str, request: Request) -> GrantOut:
        """Returns a grant with its state per door and its deliveries."""
        with client_read(request) as (session, client), unknown_refs(client):
            return views.grant_view(ctx, session, service.get_grant(session, client, ref))

    @router.get("/events", response_model=list[EventOut])
    def list_events(
        request: Request,
        ref: Annotated[str | None, Query(max_length=64, pattern=REF_PATTERN)] = None,
        door: Annotated[str | None, Query(max_length=64)] = None,
        since: Annotated[UtcDatetime | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 500,
    ) -> list[EventOut]:
        """Returns the client's door events (at or after `since`), oldest first."""
        with client_read(request) as (session, client):
            return service.list_events(
                session, client, ref=ref, door=door, since=since, limit=limit
            )

    @router.get("/doors", response_model=list[DoorOut])
    def list_doors(request: Request) -> list[DoorOut]:
        """Returns the client's doors with their connector and health."""
        with client_read(request) as (session, client):
            return service.list_doors(ctx, session, client)

    @site_router.post("/controller-events", response_model=BatchAnswer)
    def controller_events(body: ControllerEventsIn, request: Request) -> BatchAnswer:
        """Takes door events from a site's controller (bearer: the site's events key); stores
        the valid ones and lists the others in `rejected`. `{"events": []}` is a heartbeat."""
        token = bearer_token(request)
        with ctx.database.transaction() as session:
            site = service.authenticate_site(session, token)
            reconcile.site_seen(ctx, session, site)  # before its events mark doors online
            return service.ingest_controller_events(ctx, session, site, body.events)

    public_router = APIRouter(prefix="/hub/v1", tags=["hub"], responses=ERROR_RESPONSES)

    @public_router.get("/keys", response_model=JwksOut)
    def public_keys() -> JwksOut:
        """Returns the JWKS of the keys that sign mobile keys (public: no key needed)."""
        with ctx.database.transaction() as session:
            return JwksOut(keys=signing.published(ctx, session))

    return [
        router,
        site_router,
        public_router,
        build_sms_router(ctx),
        build_url_key_router(ctx),
        build_admin_router(ctx),
        static_router("/hub/static"),
    ]


__all__ = ["build_routers"]
