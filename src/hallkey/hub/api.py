"""The hub's JSON API (`/hub/v1/…`): thin endpoints around the service."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.orm import Session

from hallkey.core.auth import bearer_token
from hallkey.core.errors import Unavailable
from hallkey.core.schemas import ERROR_RESPONSES, UtcDatetime
from hallkey.hub import reconcile, service
from hallkey.hub import repository as repo
from hallkey.hub.connectors.base import ConnectorError
from hallkey.hub.context import HubContext
from hallkey.hub.models import Client
from hallkey.hub.schemas import (
    AcceptedOut,
    ControllerEventsIn,
    DoorOut,
    EventOut,
    GrantAccessIn,
    GrantOut,
    PulseIn,
    PulseOut,
    RefIn,
    ResendIn,
    UpdateAccessIn,
)


def build_routers(ctx: HubContext) -> list[APIRouter]:
    """Returns the hub's routers, with full paths."""
    router = APIRouter(prefix="/hub/v1", tags=["hub"], responses=ERROR_RESPONSES)

    @contextmanager
    def client_transaction(request: Request) -> Iterator[tuple[Session, Client]]:
        """Opens the request's transaction as the client whose API key it presents."""
        token = bearer_token(request)
        with ctx.database.transaction() as session:
            yield session, service.authenticate_client(session, token)

    @router.post("/GrantAccess", response_model=GrantOut, status_code=201)
    def grant_access(body: GrantAccessIn, request: Request, response: Response) -> GrantOut:
        """Grants a ref access to doors in a time frame, issuing and delivering a credential."""
        with client_transaction(request) as (session, client):
            grant, created = service.grant_access(ctx, session, client, body)
            view = service.grant_view(ctx, session, grant)
        if not created:
            response.status_code = 200
        return view

    @router.post("/UpdateAccess", response_model=GrantOut)
    def update_access(body: UpdateAccessIn, request: Request) -> GrantOut:
        """Moves, widens or re-doors a grant."""
        with client_transaction(request) as (session, client):
            grant = service.update_access(ctx, session, client, body)
            return service.grant_view(ctx, session, grant)

    @router.post("/RevokeAccess", response_model=GrantOut)
    def revoke_access(body: RefIn, request: Request) -> GrantOut:
        """Makes the credential stop working on every door."""
        with client_transaction(request) as (session, client):
            grant = service.revoke_access(ctx, session, client, body.ref)
            return service.grant_view(ctx, session, grant)

    @router.post("/GrantPulseAccess", response_model=PulseOut)
    def grant_pulse_access(body: PulseIn, request: Request) -> PulseOut:
        """Opens a door now for a few seconds, if the grant is valid there now."""
        with client_transaction(request) as (session, client):
            plan = service.plan_pulse(ctx, session, client, body)
        # The device is called outside any transaction.
        try:
            until = plan.connector.pulse(plan.door, plan.seconds, plan.ref)
        except ConnectorError as exc:
            outcome = exc.code
            raise Unavailable(exc.message, field="door", code=exc.code) from None
        else:
            outcome = "ok"
        finally:
            with ctx.database.transaction() as session:
                repo.add_audit(
                    session,
                    client_id=plan.client_id,
                    ref=plan.ref,
                    action="pulse",
                    door_id=plan.door.id,
                    outcome=outcome,
                    at=ctx.clock.now(),
                )
        return PulseOut(ref=plan.ref, door=plan.door.id, unlocked_until=until)

    @router.post("/ResendAccess", response_model=GrantOut)
    def resend_access(body: ResendIn, request: Request) -> GrantOut:
        """Delivers the credential again."""
        with client_transaction(request) as (session, client):
            grant = service.resend_access(ctx, session, client, body)
            return service.grant_view(ctx, session, grant)

    @router.get("/grants/{ref}", response_model=GrantOut)
    def get_grant(ref: str, request: Request) -> GrantOut:
        """Returns a grant with its state per door and its deliveries."""
        with client_transaction(request) as (session, client):
            return service.grant_view(ctx, session, service.get_grant(session, client, ref))

    @router.get("/events", response_model=list[EventOut])
    def list_events(
        request: Request,
        ref: Annotated[str | None, Query(max_length=64)] = None,
        door: Annotated[str | None, Query(max_length=64)] = None,
        since: Annotated[UtcDatetime | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 500,
    ) -> list[EventOut]:
        """Returns the client's door events (at or after `since`), oldest first."""
        with client_transaction(request) as (session, client):
            return service.list_events(
                session, client, ref=ref, door=door, since=since, limit=limit
            )

    @router.get("/doors", response_model=list[DoorOut])
    def list_doors(request: Request) -> list[DoorOut]:
        """Returns the client's doors with their connector and health."""
        with client_transaction(request) as (session, client):
            return service.list_doors(ctx, session, client)

    @router.post("/controller-events", response_model=AcceptedOut)
    def controller_events(body: ControllerEventsIn, request: Request) -> AcceptedOut:
        """Takes door events from a site's controller (bearer: the site's events key)."""
        token = bearer_token(request)
        events = [
            service.IncomingEvent(
                id=e.id, door=e.door, ref=e.ref, kind=e.kind, reason=e.reason, at=e.at
            )
            for e in body.events
        ]
        with ctx.database.transaction() as session:
            site = service.authenticate_site(session, token)
            reconcile.site_seen(ctx, session, site)  # before its events mark doors online
            accepted = service.ingest_controller_events(ctx, session, site, events)
        return AcceptedOut(accepted=accepted)

    return [router]


__all__ = ["build_routers"]
