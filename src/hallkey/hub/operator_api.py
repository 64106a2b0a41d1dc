"""The hub operator's JSON API under `/hub/v1/operator/…` (bearer: a hub operator key)."""

from __future__ import annotations

from fastapi import APIRouter, Security

from hallkey.core.auth import database_key
from hallkey.core.schemas import ERROR_RESPONSES
from hallkey.hub import client_keys, operator
from hallkey.hub.context import HubContext
from hallkey.hub.operator_schemas import (
    ClientIn,
    ClientKeyIn,
    ClientKeyOut,
    ClientOut,
    ClientPatch,
    DoorIn,
    DoorPatch,
    NewClientKeyOut,
    NewClientOut,
    NewSiteOut,
    OperatorDoorOut,
    SiteIn,
    SiteOut,
    SitePatch,
)


def build_router(ctx: HubContext) -> APIRouter:
    """Returns the operator's router, with full paths."""
    key = database_key(
        ctx.database,
        operator.authenticate_operator,
        scheme_name="hubOperatorKey",
        description="hub operator key",
    )
    router = APIRouter(
        prefix="/hub/v1/operator",
        tags=["hub operator"],
        responses=ERROR_RESPONSES,
        dependencies=[Security(key)],
    )

    @router.get("/clients", response_model=list[ClientOut])
    def list_clients() -> list[ClientOut]:
        """Lists the clients (booking systems)."""
        with ctx.database.transaction() as session:
            return operator.list_clients(session)

    @router.post("/clients", status_code=201, response_model=NewClientOut)
    def create_client(body: ClientIn) -> NewClientOut:
        """Creates a client; its API key is shown only in this answer."""
        with ctx.database.transaction() as session:
            return operator.create_client(ctx, session, body)

    @router.patch("/clients/{client_id}", response_model=ClientOut)
    def update_client(client_id: str, body: ClientPatch) -> ClientOut:
        """Renames a client or sets where its door events go."""
        with ctx.database.transaction() as session:
            return operator.update_client(ctx, session, client_id, body)

    @router.get("/clients/{client_id}/keys", response_model=list[ClientKeyOut])
    def list_client_keys(client_id: str) -> list[ClientKeyOut]:
        """Lists a client's API keys, live and revoked (never a secret)."""
        with ctx.database.read() as session:
            return client_keys.list_keys(session, client_id)

    @router.post("/clients/{client_id}/keys", status_code=201, response_model=NewClientKeyOut)
    def add_client_key(client_id: str, body: ClientKeyIn) -> NewClientKeyOut:
        """Adds an API key to a client (rotation: add, move over, revoke the old); the key is
        shown only in this answer."""
        with ctx.database.transaction() as session:
            return client_keys.add_key(ctx, session, client_id, body.name)

    @router.post("/clients/{client_id}/keys/{key_id}/revoke", response_model=ClientKeyOut)
    def revoke_client_key(client_id: str, key_id: str) -> ClientKeyOut:
        """Revokes one of a client's keys at once; 409 `last_key` for its last live one."""
        with ctx.database.transaction() as session:
            return client_keys.revoke_key(ctx, session, client_id, key_id)

    @router.get("/sites", response_model=list[SiteOut])
    def list_sites() -> list[SiteOut]:
        """Lists the sites with their doors (never the connector config)."""
        with ctx.database.transaction() as session:
            return operator.list_sites(session)

    @router.post("/sites", status_code=201, response_model=NewSiteOut)
    def create_site(body: SiteIn) -> NewSiteOut:
        """Creates a site with its connector; its events token is shown only in this answer."""
        with ctx.database.transaction() as session:
            return operator.create_site(ctx, session, body)

    @router.patch("/sites/{site_id}", response_model=SiteOut)
    def update_site(site_id: str, body: SitePatch) -> SiteOut:
        """Changes a site's name, connector config, time zone or PIN length."""
        with ctx.database.transaction() as session:
            return operator.update_site(ctx, session, site_id, body)

    @router.post("/sites/{site_id}/events-key", response_model=NewSiteOut)
    def new_events_key(site_id: str) -> NewSiteOut:
        """Gives a site a new events token for its controller (the old one stops at once)."""
        with ctx.database.transaction() as session:
            return operator.new_events_key(ctx, session, site_id)

    @router.post("/doors", status_code=201, response_model=OperatorDoorOut)
    def create_door(body: DoorIn) -> OperatorDoorOut:
        """Creates a door of a site."""
        with ctx.database.transaction() as session:
            return operator.create_door(ctx, session, body)

    @router.patch("/doors/{door_id}", response_model=OperatorDoorOut)
    def update_door(door_id: str, body: DoorPatch) -> OperatorDoorOut:
        """Renames a door."""
        with ctx.database.transaction() as session:
            return operator.update_door(ctx, session, door_id, body)

    return router
