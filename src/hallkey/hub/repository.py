"""The hub's database queries (those that forget personal data after a time: `retention`)."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, bindparam, delete, not_, select
from sqlalchemy.orm import Session

from hallkey.core.db import plain_insert
from hallkey.hub.domain import Window, any_overlap
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

# The statements a grant's way through the hub runs for every booking are built once, with
# bound parameters (`functools.cache`): building a statement and its cache key cost as much
# again as running it.


@functools.cache
def _client_by_key_id() -> Select[Client, str]:
    return (
        select(Client, ClientKey.secret_hash)
        .join(ClientKey, ClientKey.client_id == Client.id)
        .where(ClientKey.key_id == bindparam("key_id"), ClientKey.revoked_at.is_(None))
    )


def client_by_key_id(session: Session, key_id: str) -> tuple[Client, str] | None:
    """Returns the client whose live (unrevoked) API key has this id, with the key's hash."""
    row = session.execute(_client_by_key_id(), {"key_id": key_id}).first()
    return None if row is None else (row[0], row[1])


def site_by_events_key_id(session: Session, key_id: str) -> Site | None:
    """Returns the site whose events key has this id."""
    return session.scalars(select(Site).where(Site.events_key_id == key_id)).first()


@functools.cache
def _grant_by_ref(for_update: bool) -> Select[Grant]:
    query = select(Grant).where(
        Grant.client_id == bindparam("client_id"), Grant.ref == bindparam("ref")
    )
    return query.with_for_update() if for_update else query


def grant_by_ref(
    session: Session, client_id: str, ref: str, *, for_update: bool = False
) -> Grant | None:
    """Returns a client's grant by ref (row-locked on PostgreSQL when `for_update`)."""
    return session.scalars(_grant_by_ref(for_update), {"client_id": client_id, "ref": ref}).first()


@functools.cache
def _grant_windows() -> Select[datetime, datetime]:
    return (
        select(GrantWindow.valid_from_at, GrantWindow.valid_to_at)
        .where(GrantWindow.grant_id == bindparam("grant_id"))
        .order_by(GrantWindow.valid_from_at)
    )


def grant_windows(session: Session, grant_id: str) -> list[Window]:
    """Returns a grant's windows, oldest first."""
    rows = session.execute(_grant_windows(), {"grant_id": grant_id}).all()
    return [Window(row[0], row[1]) for row in rows]


def replace_windows(session: Session, grant_id: str, windows: Sequence[Window]) -> None:
    """Sets a grant's windows."""
    session.execute(delete(GrantWindow).where(GrantWindow.grant_id == grant_id))
    add_windows(session, grant_id, windows)


def add_windows(session: Session, grant_id: str, windows: Sequence[Window]) -> None:
    """Gives a grant that has none (written in this transaction) its windows."""
    if not windows:
        return
    session.execute(
        plain_insert(GrantWindow),
        [
            {"grant_id": grant_id, "valid_from_at": w.valid_from, "valid_to_at": w.valid_to}
            for w in windows
        ],
    )


def grant_doors(session: Session, grant_id: str) -> list[GrantDoor]:
    """Returns a grant's doors (current and removed), in door id order."""
    return list(
        session.scalars(
            select(GrantDoor).where(GrantDoor.grant_id == grant_id).order_by(GrantDoor.door_id)
        )
    )


def grant_door(
    session: Session, grant_id: str, door_id: str, *, for_update: bool = False
) -> GrantDoor | None:
    """Returns one door of a grant (row-locked on PostgreSQL, and read afresh, when
    `for_update`)."""
    if not for_update:
        return session.get(GrantDoor, (grant_id, door_id))
    query = (
        select(GrantDoor)
        .where(GrantDoor.grant_id == grant_id, GrantDoor.door_id == door_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return session.scalars(query).first()


def lock_grant(session: Session, grant_id: str) -> Grant | None:
    """Returns a grant row-locked (on PostgreSQL) and read afresh: take it before changing
    any of its door rows, so that two changes of one grant never interleave."""
    query = (
        select(Grant)
        .where(Grant.id == grant_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return session.scalars(query).first()


@functools.cache
def _lock_grant_with_client() -> Select[Grant, Client]:
    return (
        select(Grant, Client)
        .outerjoin(Client, Client.id == Grant.client_id)
        .where(Grant.id == bindparam("grant_id"))
        .with_for_update(of=Grant)
        .execution_options(populate_existing=True)
    )


def lock_grant_with_client(session: Session, grant_id: str) -> tuple[Grant, Client | None] | None:
    """Returns a grant row-locked (on PostgreSQL) and read afresh, as `lock_grant`, with its
    client (not locked) in the same query."""
    row = session.execute(_lock_grant_with_client(), {"grant_id": grant_id}).first()
    return None if row is None else (row[0], row[1])


@functools.cache
def _lock_grant_doors() -> Select[GrantDoor]:
    return (
        select(GrantDoor)
        .where(GrantDoor.grant_id == bindparam("grant_id"))
        .order_by(GrantDoor.door_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def lock_grant_doors(session: Session, grant_id: str) -> list[GrantDoor]:
    """Returns all of a grant's door rows in door id order, row-locked (on PostgreSQL) and read
    afresh: take the grant's lock first (`lock_grant`)."""
    return list(session.scalars(_lock_grant_doors(), {"grant_id": grant_id}))


@functools.cache
def _grant_doors_in_full() -> Select[GrantDoor, Grant, Door, Site]:
    return (
        select(GrantDoor, Grant, Door, Site)
        .join(Grant, Grant.id == GrantDoor.grant_id)
        .join(Door, Door.id == GrantDoor.door_id)
        .join(Site, Site.id == Door.site_id)
        .where(
            GrantDoor.grant_id == bindparam("grant_id"),
            GrantDoor.door_id.in_(bindparam("door_ids", expanding=True)),
        )
        .order_by(GrantDoor.door_id)
    )


def grant_doors_in_full(
    session: Session, grant_id: str, door_ids: Iterable[str]
) -> tuple[Grant, list[tuple[GrantDoor, Door, Site]]] | None:
    """Returns a grant with those of `door_ids` that are its doors, each with its door row and
    the door's site, in door id order, in one query (None when the grant has none of them)."""
    rows = session.execute(
        _grant_doors_in_full(), {"grant_id": grant_id, "door_ids": list(door_ids)}
    ).all()
    if not rows:
        return None
    return rows[0][1], [(row[0], row[2], row[3]) for row in rows]


def deliveries(session: Session, grant_id: str) -> list[Delivery]:
    """Returns a grant's deliveries, oldest first."""
    return list(
        session.scalars(
            select(Delivery)
            .where(Delivery.grant_id == grant_id)
            .order_by(Delivery.created_at, Delivery.id)
        )
    )


@functools.cache
def _deliveries_with_grant() -> Select[Delivery, Grant, Client]:
    return (
        select(Delivery, Grant, Client)
        .outerjoin(Grant, Grant.id == Delivery.grant_id)
        .outerjoin(Client, Client.id == Grant.client_id)
        .where(Delivery.id.in_(bindparam("ids", expanding=True)))
    )


def deliveries_with_grant(
    session: Session, delivery_ids: Sequence[str]
) -> list[tuple[Delivery, Grant | None, Client | None]]:
    """Returns the deliveries (in the order of `delivery_ids`, those that exist), each with its
    grant and the grant's client (None for a message about no grant), in one query."""
    rows = session.execute(_deliveries_with_grant(), {"ids": list(delivery_ids)}).all()
    order = {delivery_id: index for index, delivery_id in enumerate(delivery_ids)}
    found = sorted(rows, key=lambda row: order[row[0].id])
    return [(row[0], row[1], row[2]) for row in found]


@functools.cache
def _grant_doors_with_sites() -> Select[GrantDoor, Door, Site]:
    return (
        select(GrantDoor, Door, Site)
        .join(Door, Door.id == GrantDoor.door_id)
        .join(Site, Site.id == Door.site_id)
        .where(GrantDoor.grant_id == bindparam("grant_id"))
        .order_by(GrantDoor.door_id)
    )


def grant_doors_with_sites(session: Session, grant_id: str) -> list[tuple[GrantDoor, Door, Site]]:
    """Returns a grant's doors (current and removed) in door id order, each with its door and
    the door's site, in one query."""
    rows = session.execute(_grant_doors_with_sites(), {"grant_id": grant_id}).all()
    return [(row[0], row[1], row[2]) for row in rows]


def client_doors(
    session: Session, client_id: str, door_ids: Iterable[str], *, for_update: bool = False
) -> dict[str, tuple[Door, Site]]:
    """Returns those of `door_ids` that are doors of the client's sites, each with its site, in
    one query (the doors row-locked in id order when `for_update`, so that two transactions
    never deadlock on them; never the sites)."""
    ids = sorted(set(door_ids))
    if not ids:
        return {}
    rows = session.execute(_client_doors(for_update), {"client_id": client_id, "ids": ids})
    return {door.id: (door, site) for door, site in rows.all()}


@functools.cache
def _client_doors(for_update: bool) -> Select[Door, Site]:
    query = (
        select(Door, Site)
        .join(Site, Site.id == Door.site_id)
        .where(
            Site.client_id == bindparam("client_id"), Door.id.in_(bindparam("ids", expanding=True))
        )
        .order_by(Door.id)
    )
    return query.with_for_update(of=Door) if for_update else query


@functools.cache
def _taken_codes(
    one_digest: bool, exclude_grant: bool
) -> Select[str, str | None, datetime, datetime]:
    query = (
        select(Grant.id, Grant.code_digest, GrantWindow.valid_from_at, GrantWindow.valid_to_at)
        .join(GrantDoor, GrantDoor.grant_id == Grant.id)
        .join(GrantWindow, GrantWindow.grant_id == Grant.id)
        .where(
            GrantDoor.door_id.in_(bindparam("door_ids", expanding=True)),
            # A revocation that has not reached the door yet still holds the code there.
            not_(and_(GrantDoor.action == "revoke", GrantDoor.state == "revoked")),
            Grant.code_digest == bindparam("digest")
            if one_digest
            else Grant.code_digest.is_not(None),
            GrantWindow.valid_from_at < bindparam("end"),
            GrantWindow.valid_to_at > bindparam("start"),
        )
    )
    return query.where(Grant.id != bindparam("grant_id")) if exclude_grant else query


def taken_code_digests(
    session: Session,
    door_ids: Iterable[str],
    windows: Sequence[Window],
    exclude_grant_id: str | None,
    *,
    only_digest: str | None = None,
) -> set[str]:
    """Returns the code digests of other grants held (or still being revoked) at one of the
    doors in a window overlapping one of `windows` (with `only_digest`: that digest, if it is
    so held — found by the digest's index, however many grants the doors have)."""
    ids = list(set(door_ids))
    if not ids or not windows:
        return set()
    parameters = {
        "door_ids": ids,
        "start": min(w.valid_from for w in windows),
        "end": max(w.valid_to for w in windows),
        "digest": only_digest,
        "grant_id": exclude_grant_id,
    }
    query = _taken_codes(only_digest is not None, exclude_grant_id is not None)
    taken: set[str] = set()
    for _grant_id, digest, valid_from, valid_to in session.execute(query, parameters).all():
        if digest is not None and any_overlap([Window(valid_from, valid_to)], windows):
            taken.add(digest)
    return taken


def add_audit(
    session: Session,
    *,
    client_id: str,
    ref: str,
    action: str,
    door_id: str | None,
    outcome: str,
    at: datetime,
) -> None:
    """Records what happened to a ref (never personal data)."""
    add_audits(session, [audit_entry(client_id, ref, action, door_id, outcome, at)])


def audit_entry(
    client_id: str, ref: str, action: str, door_id: str | None, outcome: str, at: datetime
) -> dict[str, Any]:
    """Returns one audit row for `add_audits` (never personal data)."""
    return {
        "client_id": client_id,
        "ref": ref,
        "action": action,
        "door_id": door_id,
        "outcome": outcome,
        "at": at,
    }


def add_audits(session: Session, entries: Sequence[dict[str, Any]]) -> None:
    """Records several audit rows (`audit_entry`) in one statement."""
    if entries:
        session.execute(plain_insert(AuditEntry), list(entries))


def client_door_rows(session: Session, client_id: str) -> list[tuple[Door, Site]]:
    """Returns every door of the client with its site."""
    rows = session.execute(
        select(Door, Site)
        .join(Site, Site.id == Door.site_id)
        .where(Site.client_id == client_id)
        .order_by(Site.name, Door.name, Door.id)
    ).all()
    return [(row[0], row[1]) for row in rows]


def grant_by_key_digest(session: Session, digest: str) -> Grant | None:
    """Returns the grant whose URL key has this digest (any client)."""
    return session.scalars(select(Grant).where(Grant.key_digest == digest)).first()


def doors_by_id(session: Session, door_ids: Iterable[str]) -> dict[str, tuple[Door, Site]]:
    """Returns doors with their sites, by id."""
    ids = list(door_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(Door, Site).join(Site, Site.id == Door.site_id).where(Door.id.in_(ids))
    ).all()
    return {door.id: (door, site) for door, site in rows}


def grants_by_phone_digest(session: Session, digest: str) -> list[Grant]:
    """Returns the SMS-access grants of a phone's keyed hash, oldest first."""
    return list(
        session.scalars(
            select(Grant)
            .where(Grant.phone_digest == digest, Grant.credential == "sms")
            .order_by(Grant.created_at, Grant.id)
        )
    )
