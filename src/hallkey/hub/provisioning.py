"""Creating the hub's configuration: clients, sites, doors (demo, CLI, tests)."""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from hallkey.core.ids import new_id
from hallkey.core.security import issue_api_key
from hallkey.hub.connectors.registry import UnknownConnector
from hallkey.hub.context import HubContext
from hallkey.hub.domain import PIN_MAX_LENGTH, PIN_MIN_LENGTH
from hallkey.hub.events import enqueue_forwarding
from hallkey.hub.models import Client, ClientKey, Door, Site


def create_client(
    ctx: HubContext,
    session: Session,
    *,
    name: str,
    events_url: str | None = None,
    events_token: str | None = None,
) -> tuple[str, str]:
    """Creates a client; returns (client_id, its first hub API key, shown only now)."""
    client = Client(
        id=new_id("cli"),
        name=name,
        events_url=events_url,
        events_token_sealed=ctx.box.seal(events_token) if events_token else None,
        created_at=ctx.clock.now(),
    )
    session.add(client)
    session.flush()
    _, plaintext = add_client_key(ctx, session, client_id=client.id, name="first key")
    return client.id, plaintext


def add_client_key(
    ctx: HubContext, session: Session, *, client_id: str, name: str
) -> tuple[ClientKey, str]:
    """Gives a client one more API key; returns it and its plaintext (shown only now)."""
    issued = issue_api_key("hkh")
    key = ClientKey(
        id=new_id("ck"),
        client_id=client_id,
        name=name,
        key_id=issued.key_id,
        secret_hash=issued.secret_hash,
        created_at=ctx.clock.now(),
    )
    session.add(key)
    session.flush()
    return key, issued.plaintext


def set_client_events(
    ctx: HubContext,
    session: Session,
    *,
    client_id: str,
    events_url: str | None,
    events_token: str | None,
) -> None:
    """Sets where (and with which bearer token) a client's door events are forwarded."""
    client = session.get(Client, client_id)
    if client is None:
        raise ValueError("unknown client")
    client.events_url = events_url
    client.events_token_sealed = ctx.box.seal(events_token) if events_token else None
    session.flush()
    if events_url and events_token:
        # Events that arrived before the client had an address go out now.
        enqueue_forwarding(ctx, session, client_id)


def create_site(
    ctx: HubContext,
    session: Session,
    *,
    client_id: str,
    name: str,
    connector: str,
    config: dict[str, str],
    timezone: str = "Europe/Oslo",
    pin_length: int = 6,
) -> tuple[str, str]:
    """Creates a site; returns (site_id, the events token its controller presents)."""
    if session.get(Client, client_id) is None:
        raise ValueError("unknown client")
    try:
        ctx.connectors.build(connector, config)
    except UnknownConnector as exc:
        raise ValueError(str(exc)) from None
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("unknown time zone") from None
    if not PIN_MIN_LENGTH <= pin_length <= PIN_MAX_LENGTH:
        raise ValueError(f"pin_length must be {PIN_MIN_LENGTH}-{PIN_MAX_LENGTH}")
    key = issue_api_key("hke")
    site = Site(
        id=new_id("site"),
        client_id=client_id,
        name=name,
        connector=connector,
        config_sealed=ctx.box.seal(json.dumps(config, sort_keys=True)),
        timezone=timezone,
        pin_length=pin_length,
        events_key_id=key.key_id,
        events_secret_hash=key.secret_hash,
        created_at=ctx.clock.now(),
    )
    session.add(site)
    session.flush()
    return site.id, key.plaintext


def create_door(
    ctx: HubContext,
    session: Session,
    *,
    site_id: str,
    name: str,
    door_id: str | None = None,
    remote_id: str | None = None,
) -> str:
    """Creates a door of a site; returns its id (`remote_id` defaults to it)."""
    site = session.get(Site, site_id)
    if site is None:
        raise ValueError("unknown site")
    door = Door(
        id=door_id or new_id("door"),
        site_id=site_id,
        name=name,
        remote_id="",
        online=True,
        battery=None,
        last_seen_at=None,
        created_at=ctx.clock.now(),
    )
    door.remote_id = remote_id or door.id
    session.add(door)
    session.flush()
    if site.connector == "memory":
        ctx.connectors.memory.add_door(door.remote_id)
    return door.id
