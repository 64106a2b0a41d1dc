"""What the hub's admin pages show, read from the hub's tables (no personal data: a grant's
phone and email are never shown, only that a message went by SMS or email)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from hallkey.hub.models import (
    AuditEntry,
    Client,
    ClientKey,
    Delivery,
    Door,
    Grant,
    GrantDoor,
    GrantWindow,
    Site,
)

PAGE_ROWS = 100
"""Rows a list page shows (the newest first)."""


@dataclass(frozen=True)
class DoorRow:
    id: str
    name: str
    site: str
    client: str
    connector: str
    timezone: str
    online: bool
    battery: int | None
    last_seen: datetime | None


@dataclass(frozen=True)
class ClientRow:
    id: str
    name: str
    events_url: str | None
    keys: list[ClientKey]
    sites: int


@dataclass(frozen=True)
class GrantDoorRow:
    door: str
    state: str
    errors: list[dict[str, Any]]
    attempts: int
    updated_at: datetime


@dataclass(frozen=True)
class GrantRow:
    ref: str
    client: str
    state: str
    operation: str
    credential: str
    valid_from: datetime
    valid_to: datetime
    windows: int
    updated_at: datetime
    doors: list[GrantDoorRow]


def _counts(session: Session, query: Select[str, int]) -> dict[str, int]:
    """Reads a `(key, count)` grouping into a mapping."""
    return {str(key): int(count) for key, count in session.execute(query)}


def doors(session: Session) -> list[DoorRow]:
    """Every door with its site, client, connector and health; offline doors first."""
    rows = session.execute(
        select(Door, Site.name, Site.connector, Site.timezone, Client.name)
        .join(Site, Site.id == Door.site_id)
        .join(Client, Client.id == Site.client_id)
        .order_by(Door.online, Client.name, Site.name, Door.name)
    ).all()
    return [
        DoorRow(
            id=door.id,
            name=door.name,
            site=site_name,
            client=client_name,
            connector=connector,
            timezone=timezone,
            online=door.online,
            battery=door.battery,
            last_seen=door.last_seen_at,
        )
        for door, site_name, connector, timezone, client_name in rows
    ]


def clients(session: Session) -> list[ClientRow]:
    """Every client with its keys (never a secret) and how many sites it has."""
    keys: dict[str, list[ClientKey]] = {}
    for key in session.scalars(
        select(ClientKey).order_by(ClientKey.created_at.desc(), ClientKey.id)
    ):
        keys.setdefault(key.client_id, []).append(key)
    site_counts = _counts(session, select(Site.client_id, func.count()).group_by(Site.client_id))
    return [
        ClientRow(c.id, c.name, c.events_url, keys.get(c.id, []), site_counts.get(c.id, 0))
        for c in session.scalars(select(Client).order_by(Client.name))
    ]


def sites(session: Session) -> list[tuple[Site, str, int]]:
    """Every site with its client's name and its number of doors (never its configuration,
    which holds passwords)."""
    door_counts = _counts(session, select(Door.site_id, func.count()).group_by(Door.site_id))
    rows = session.execute(
        select(Site, Client.name).join(Client, Client.id == Site.client_id).order_by(Site.name)
    ).all()
    return [(site, client, door_counts.get(site.id, 0)) for site, client in rows]


def grants(session: Session, *, ref: str | None = None, state: str | None = None) -> list[GrantRow]:
    """The newest grants (or those of one ref), each with its doors' states and errors."""
    query = (
        select(Grant, Client.name)
        .join(Client, Client.id == Grant.client_id)
        .order_by(Grant.updated_at.desc(), Grant.id)
        .limit(PAGE_ROWS)
    )
    if ref:
        query = query.where(Grant.ref == ref)
    if state:
        query = query.where(Grant.state == state)
    found = session.execute(query).all()
    ids = [grant.id for grant, _ in found]
    doors_of: dict[str, list[GrantDoorRow]] = {}
    window_counts: dict[str, int] = {}
    if ids:
        for gd in session.scalars(
            select(GrantDoor).where(GrantDoor.grant_id.in_(ids)).order_by(GrantDoor.door_id)
        ):
            doors_of.setdefault(gd.grant_id, []).append(
                GrantDoorRow(
                    gd.door_id, gd.state, list(gd.errors or []), gd.attempts, gd.updated_at
                )
            )
        window_counts = _counts(
            session,
            select(GrantWindow.grant_id, func.count())
            .where(GrantWindow.grant_id.in_(ids))
            .group_by(GrantWindow.grant_id),
        )
    return [
        GrantRow(
            ref=grant.ref,
            client=client,
            state=grant.state,
            operation=grant.operation,
            credential=grant.credential,
            valid_from=grant.valid_from_at,
            valid_to=grant.valid_to_at,
            windows=window_counts.get(grant.id, 1),
            updated_at=grant.updated_at,
            doors=doors_of.get(grant.id, []),
        )
        for grant, client in found
    ]


def deliveries(session: Session, *, state: str | None = None) -> list[tuple[Delivery, str | None]]:
    """The newest messages with the ref they belong to (never the address or the text)."""
    query = (
        select(Delivery, Grant.ref)
        .outerjoin(Grant, Grant.id == Delivery.grant_id)
        .order_by(Delivery.created_at.desc(), Delivery.id)
        .limit(PAGE_ROWS)
    )
    if state:
        query = query.where(Delivery.state == state)
    return [(delivery, ref) for delivery, ref in session.execute(query).all()]


def audit(session: Session, *, ref: str | None = None) -> list[AuditEntry]:
    """The newest audit records (or those of one ref)."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(PAGE_ROWS)
    if ref:
        query = query.where(AuditEntry.ref == ref)
    return list(session.scalars(query))


def summary(session: Session) -> dict[str, int]:
    """Counts for the overview: doors offline, grants by state, messages failed."""
    offline = session.scalar(select(func.count()).select_from(Door).where(Door.online.is_(False)))
    failed_doors = session.scalar(
        select(func.count()).select_from(GrantDoor).where(GrantDoor.state == "failed")
    )
    failed_messages = session.scalar(
        select(func.count()).select_from(Delivery).where(Delivery.state == "failed")
    )
    active = session.scalar(select(func.count()).select_from(Grant).where(Grant.state == "active"))
    return {
        "doors_offline": int(offline or 0),
        "doors_failed": int(failed_doors or 0),
        "messages_failed": int(failed_messages or 0),
        "grants_active": int(active or 0),
    }
