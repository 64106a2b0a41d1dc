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
from hallkey.hub.models import Client, Door, Site


def create_client(
    ctx: HubContext,
    session: Session,
    *,
    name: str,
    events_url: str | None = None,
    events_token: str | None = None,
) -> tuple[str, str]:
    """Creates a client; returns (client_id, its hub API key, shown only now)."""
    key = issue_api_key("hkh")
    client = Client(
        id=new_id("cli"),
        name=name,
        key_id=key.key_id,
        secret_hash=key.secret_hash,
        events_url=events_url,
        events_token_sealed=ctx.box.seal(events_token) if events_token else None,
        created_at=ctx.clock.now(),
    )
    session.add(client)
    session.flush()
    return client.id, key.plaintext


def set_client_events(
    ctx: HubContext,
    session: Session,
    *,
    client_id: str,
    events_url: str | None,
    events_token: str | None,
) -> None:
    """Sets where (and with which bearer token) a client's door events are forwarded."""
    from hallkey.hub.service import FORWARD_JOB

    client = session.get(Client, client_id)
    if client is None:
        raise ValueError("unknown client")
    client.events_url = events_url
    client.events_token_sealed = ctx.box.seal(events_token) if events_token else None
    session.flush()
    if events_url and events_token:
        # Events that arrived before the client had an address go out now.
        payload = {"client_id": client_id}
        ctx.jobs.enqueue(session, FORWARD_JOB, payload, peer=f"client:{client_id}")


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
