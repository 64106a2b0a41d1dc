"""The hub operator's set-up: clients, sites with their connectors, doors.

Services only (the request owns the transaction). The operator authenticates with an
`hkho_` key of the hub's own, never a client's or the booking system's.
"""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from hallkey.core import operators
from hallkey.core.errors import Conflict, InvalidInput, NotFound
from hallkey.core.messaging.smtp import checked_sender
from hallkey.core.security import issue_api_key
from hallkey.hub import mqtt_events, provisioning
from hallkey.hub.connectors.registry import UnknownConnector
from hallkey.hub.context import HubContext
from hallkey.hub.domain import PIN_MAX_LENGTH, PIN_MIN_LENGTH
from hallkey.hub.models import Client, Door, Site, operator_keys_table
from hallkey.hub.operator_schemas import (
    ClientIn,
    ClientOut,
    ClientPatch,
    DoorIn,
    DoorPatch,
    NewClientOut,
    NewSiteOut,
    OperatorDoorOut,
    SiteIn,
    SiteOut,
    SitePatch,
)

OPERATOR_PREFIX = "hkho"


def issue_operator_key(ctx: HubContext, session: Session, *, name: str) -> tuple[str, str]:
    """Stores a new hub operator key; returns (its id, the key, shown only now)."""
    return operators.issue_operator_key(
        session, operator_keys_table, OPERATOR_PREFIX, name=name, now=ctx.clock.now()
    )


def revoke_operator_key(ctx: HubContext, session: Session, *, key_id: str) -> None:
    """Deletes a hub operator key."""
    operators.revoke_operator_key(session, operator_keys_table, key_id)


def authenticate_operator(session: Session, token: str) -> str:
    """Returns the id of the hub operator key presented; raises Unauthorized."""
    return operators.authenticate_operator(session, operator_keys_table, OPERATOR_PREFIX, token)


def _client_out(client: Client) -> ClientOut:
    return ClientOut(
        id=client.id,
        name=client.name,
        events_url=client.events_url,
        has_events_token=client.events_token_sealed is not None,
        webhook_url=client.webhook_url if client.webhook_secret_sealed else None,
        email_from=client.email_from,
    )


def _client(session: Session, client_id: str) -> Client:
    client = session.get(Client, client_id)
    if client is None:
        raise NotFound("unknown client", field="client_id")
    return client


def list_clients(session: Session) -> list[ClientOut]:
    """Returns every client (never its key)."""
    return [_client_out(c) for c in session.scalars(select(Client).order_by(Client.name))]


def create_client(ctx: HubContext, session: Session, body: ClientIn) -> NewClientOut:
    """Creates a client; its API key is in this answer only."""
    client_id, api_key = provisioning.create_client(ctx, session, name=body.name.strip())
    return NewClientOut(**_client_out(_client(session, client_id)).model_dump(), api_key=api_key)


def update_client(
    ctx: HubContext, session: Session, client_id: str, body: ClientPatch
) -> ClientOut:
    """Renames a client, sets its emails' sender, or sets where its events go (URL and token
    together)."""
    client = _client(session, client_id)
    if (body.events_url is None) != (body.events_token is None):
        raise InvalidInput("give events_url and events_token together", field="events_token")
    if body.name is not None:
        client.name = body.name.strip()
    if body.email_from is not None:
        client.email_from = checked_sender(body.email_from, field="email_from")
    if body.events_url is not None:
        provisioning.set_client_events(
            ctx,
            session,
            client_id=client.id,
            events_url=body.events_url,
            events_token=body.events_token,
        )
    session.flush()
    return _client_out(client)


def _check_site(ctx: HubContext, connector: str, config: dict[str, str], tz: str, pin: int) -> None:
    try:
        ctx.connectors.build(connector, config)
    except UnknownConnector:
        raise InvalidInput("unknown connector or a config it cannot use", field="config") from None
    except (KeyError, ValueError, TypeError):
        # The type only: the message may quote the config, which holds secrets.
        raise InvalidInput("the connector cannot use this config", field="config") from None
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput("timezone is not a known IANA time zone", field="timezone") from None
    if not PIN_MIN_LENGTH <= pin <= PIN_MAX_LENGTH:
        raise InvalidInput(
            f"pin_length must be {PIN_MIN_LENGTH} to {PIN_MAX_LENGTH}", field="pin_length"
        )


def _site_out(session: Session, site: Site) -> SiteOut:
    doors = session.scalars(select(Door).where(Door.site_id == site.id).order_by(Door.id))
    return SiteOut(
        id=site.id,
        client_id=site.client_id,
        name=site.name,
        connector=site.connector,
        timezone=site.timezone,
        pin_length=site.pin_length,
        doors=[_door_out(door) for door in doors],
    )


def _door_out(door: Door) -> OperatorDoorOut:
    return OperatorDoorOut(
        id=door.id, site_id=door.site_id, name=door.name, remote_id=door.remote_id
    )


def _site(session: Session, site_id: str) -> Site:
    site = session.get(Site, site_id)
    if site is None:
        raise NotFound("unknown site", field="site_id")
    return site


def list_sites(session: Session) -> list[SiteOut]:
    """Returns every site with its doors (never its connector config)."""
    return [_site_out(session, s) for s in session.scalars(select(Site).order_by(Site.name))]


def create_site(ctx: HubContext, session: Session, body: SiteIn) -> NewSiteOut:
    """Creates a site of a client; its controller's events token is in this answer only."""
    _client(session, body.client_id)
    _check_site(ctx, body.connector, body.config, body.timezone, body.pin_length)
    site_id, events_token = provisioning.create_site(
        ctx,
        session,
        client_id=body.client_id,
        name=body.name.strip(),
        connector=body.connector,
        config=body.config,
        timezone=body.timezone,
        pin_length=body.pin_length,
    )
    if body.connector == "mqtt":
        mqtt_events.listen_soon(ctx, session)  # its devices' events from now on
    out = _site_out(session, _site(session, site_id))
    return NewSiteOut(**out.model_dump(), events_token=events_token)


def update_site(ctx: HubContext, session: Session, site_id: str, body: SitePatch) -> SiteOut:
    """Changes a site's name, connector config, time zone or PIN length."""
    site = _site(session, site_id)
    config = (
        body.config if body.config is not None else json.loads(ctx.box.open(site.config_sealed))
    )
    timezone = body.timezone or site.timezone
    pin_length = body.pin_length if body.pin_length is not None else site.pin_length
    _check_site(ctx, site.connector, config, timezone, pin_length)
    if body.name is not None:
        site.name = body.name.strip()
    if body.config is not None:
        site.config_sealed = ctx.box.seal(json.dumps(body.config, sort_keys=True))
        if site.connector == "mqtt":
            mqtt_events.listen_soon(ctx, session)  # perhaps another broker or prefix
    site.timezone = timezone
    site.pin_length = pin_length
    session.flush()
    return _site_out(session, site)


def new_events_key(ctx: HubContext, session: Session, site_id: str) -> NewSiteOut:
    """Gives a site a new events token for its controller; the old one stops working at once."""
    site = _site(session, site_id)
    key = issue_api_key("hke")
    site.events_key_id = key.key_id
    site.events_secret_hash = key.secret_hash
    session.flush()
    return NewSiteOut(**_site_out(session, site).model_dump(), events_token=key.plaintext)


def create_door(ctx: HubContext, session: Session, body: DoorIn) -> OperatorDoorOut:
    """Creates a door of a site (its id at the lock system: `remote_id`, by default its id)."""
    site = _site(session, body.site_id)
    if body.id is not None and session.get(Door, body.id) is not None:
        raise Conflict("a door with this id exists", field="id")
    remote = body.remote_id or body.id
    if (
        remote is not None
        and session.scalars(
            select(Door.id).where(Door.site_id == site.id, Door.remote_id == remote)
        ).first()
    ):
        raise Conflict("a door of this site has this remote_id", field="remote_id")
    door_id = provisioning.create_door(
        ctx,
        session,
        site_id=site.id,
        name=body.name.strip(),
        door_id=body.id,
        remote_id=body.remote_id,
    )
    door = session.get(Door, door_id)
    assert door is not None
    return _door_out(door)


def update_door(
    ctx: HubContext, session: Session, door_id: str, body: DoorPatch
) -> OperatorDoorOut:
    """Renames a door."""
    door = session.get(Door, door_id)
    if door is None:
        raise NotFound("unknown door", field="door_id")
    if body.name is not None:
        door.name = body.name.strip()
    session.flush()
    return _door_out(door)
