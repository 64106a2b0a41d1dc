"""Every database query of the door controller."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Exists, Select, bindparam, delete, exists, func, select
from sqlalchemy.orm import Session

from hallkey.core.db import code_order, plain_insert
from hallkey.core.ids import new_id
from hallkey.locks.domain import Window
from hallkey.locks.models import Controller, Credential, CredentialWindow, Door

# Controllers


# The statements of every request and keypad press are built once, with bound parameters
# (`functools.cache`): building a statement and its cache key cost as much again as running it.


@functools.cache
def _controller_by_key_id() -> Select[Controller]:
    return select(Controller).where(Controller.api_key_id == bindparam("key_id"))


def controller_by_key_id(session: Session, key_id: str) -> Controller | None:
    """Returns the controller whose API key has `key_id`."""
    return session.scalars(_controller_by_key_id(), {"key_id": key_id}).first()


def controller(session: Session, controller_id: str) -> Controller | None:
    """Returns a controller by id."""
    return session.get(Controller, controller_id)


# Doors


def door_of(
    session: Session, controller_id: str, door_id: str, *, for_update: bool = False
) -> Door | None:
    """Returns the door if it belongs to the controller; locks its row when `for_update`."""
    query = select(Door).where(Door.id == door_id, Door.controller_id == controller_id)
    if for_update:
        # Serialises keypad entries and programming of one door (PostgreSQL; SQLite has one
        # writer anyway), so the lock-out count and the space check cannot race.
        query = query.with_for_update()
    return session.scalars(query).first()


def doors_for_update(
    session: Session, controller_id: str, door_ids: Sequence[str]
) -> dict[str, Door]:
    """Returns those of `door_ids` that belong to the controller, by id, row-locked in id order
    (PostgreSQL): two requests locking the same doors take them in one order, so neither
    waits on the other in a cycle."""
    if not door_ids:
        return {}
    parameters = {"door_ids": list(door_ids), "controller_id": controller_id}
    return {door.id: door for door in session.scalars(_doors_for_update(), parameters)}


@functools.cache
def _doors_for_update() -> Select[Door]:
    return (
        select(Door)
        .where(
            Door.id.in_(bindparam("door_ids", expanding=True)),
            Door.controller_id == bindparam("controller_id"),
        )
        .order_by(Door.id)
        .with_for_update()
    )


def door_exists(session: Session, door_id: str) -> bool:
    """Returns whether any controller has a door with this id."""
    return session.get(Door, door_id) is not None


def doors_of(session: Session, controller_id: str) -> Sequence[Door]:
    """Returns the controller's doors, by name then id."""
    return session.scalars(
        select(Door).where(Door.controller_id == controller_id).order_by(Door.name, Door.id)
    ).all()


# Credentials


def door_known_to_hub_as(session: Session, controller_id: str, hub_door_id: str) -> bool:
    """Tells whether a door of the controller is known to the hub by `hub_door_id`."""
    found = session.scalar(
        select(Door.id)
        .where(Door.controller_id == controller_id, Door.hub_door_id == hub_door_id)
        .limit(1)
    )
    return found is not None


def credential(session: Session, door_id: str, ref: str) -> Credential | None:
    """Returns the credential of `ref` on the door."""
    return session.scalars(_credential(), {"door_id": door_id, "ref": ref}).first()


@functools.cache
def _credential() -> Select[Credential]:
    return select(Credential).where(
        Credential.door_id == bindparam("door_id"), Credential.ref == bindparam("ref")
    )


def credentials_by_digest(session: Session, door_id: str, code_digest: str) -> Sequence[Credential]:
    """Returns the door's credentials whose code has this digest (the keypad lookup), by ref.

    Sorted here, not in SQL: an `ORDER BY ref` made SQLite walk the (door, ref) index over
    every credential of the door, instead of seeking the (door, digest) index to the few
    matches (48 ms instead of 0.1 ms a press with 100,000 codes on the door).
    """
    parameters = {"door_id": door_id, "code_digest": code_digest}
    found = session.scalars(_credentials_by_digest(), parameters).all()
    return sorted(found, key=lambda credential: credential.ref)


@functools.cache
def _credentials_by_digest() -> Select[Credential]:
    return select(Credential).where(
        Credential.door_id == bindparam("door_id"),
        Credential.code_digest == bindparam("code_digest"),
    )


def credentials_of_ref(
    session: Session, door_ids: Sequence[str], ref: str
) -> dict[str, Credential]:
    """Returns the credential of `ref` on each of the doors that has one, by door id (one
    statement for a batch's doors)."""
    if not door_ids:
        return {}
    parameters = {"door_ids": list(door_ids), "ref": ref}
    return {c.door_id: c for c in session.scalars(_credentials_of_ref(), parameters)}


@functools.cache
def _credentials_of_ref() -> Select[Credential]:
    return select(Credential).where(
        Credential.door_id.in_(bindparam("door_ids", expanding=True)),
        Credential.ref == bindparam("ref"),
    )


def credentials_by_digest_on(
    session: Session, door_ids: Sequence[str], code_digest: str
) -> dict[str, list[Credential]]:
    """Returns the credentials whose code has this digest on each of the doors, by door id
    (one statement for a batch's doors; the (door, digest) index serves each door)."""
    found: dict[str, list[Credential]] = {door_id: [] for door_id in door_ids}
    if not door_ids:
        return found
    parameters = {"door_ids": list(door_ids), "code_digest": code_digest}
    for credential in session.scalars(_credentials_by_digest_on(), parameters):
        found[credential.door_id].append(credential)
    return found


@functools.cache
def _credentials_by_digest_on() -> Select[Credential]:
    return select(Credential).where(
        Credential.door_id.in_(bindparam("door_ids", expanding=True)),
        Credential.code_digest == bindparam("code_digest"),
    )


def _live_window(now: datetime, credential_id: str | None = None) -> Exists:
    """Whether a credential (the query's row, or the one of `credential_id`) has a window that
    has not yet ended at `now`."""
    of = Credential.id if credential_id is None else credential_id
    return exists().where(CredentialWindow.credential_id == of, CredentialWindow.valid_to_at > now)


def credentials_of_door(
    session: Session,
    door_id: str,
    *,
    live_at: datetime | None = None,
    after: str | None = None,
    limit: int | None = None,
) -> Sequence[Credential]:
    """Returns the credentials of the door by ref: all, or those that can still open it;
    from the first ref after `after`, at most `limit` (a page, read along the (door, ref)
    index)."""
    query = select(Credential).where(Credential.door_id == door_id)
    if live_at is not None:
        query = query.where(Credential.revoked.is_(False), _live_window(live_at))
    if after is not None:
        query = query.where(code_order(Credential.ref) > after)
    return session.scalars(query.order_by(code_order(Credential.ref)).limit(limit)).all()


def unlock_schedules(
    session: Session, door_ids: Sequence[str], now: datetime
) -> dict[str, dict[str, list[Window]]]:
    """Returns, per door, the live unlock schedules by ref (not revoked, windows not ended)."""
    result: dict[str, dict[str, list[Window]]] = {door_id: {} for door_id in door_ids}
    if not door_ids:
        return result
    rows = session.execute(
        select(Credential.door_id, Credential.ref, CredentialWindow)
        .join(CredentialWindow, CredentialWindow.credential_id == Credential.id)
        .where(
            Credential.door_id.in_(door_ids),
            Credential.type == "unlock",
            Credential.revoked.is_(False),
            CredentialWindow.valid_to_at > now,
        )
        .order_by(CredentialWindow.valid_from_at, CredentialWindow.id)
    ).all()
    for door_id, ref, window in rows:
        result[door_id].setdefault(ref, []).append(Window(window.valid_from_at, window.valid_to_at))
    return result


def doors_with_schedules(session: Session, now: datetime) -> Sequence[str]:
    """Returns the doors that hold a live unlock schedule or are left unlocked by one."""
    scheduled = (
        select(Credential.door_id)
        .join(CredentialWindow, CredentialWindow.credential_id == Credential.id)
        .where(
            Credential.type == "unlock",
            Credential.revoked.is_(False),
            CredentialWindow.valid_to_at > now,
        )
    )
    in_force = select(Door.id).where(Door.schedule_ref.is_not(None))
    return sorted(set(session.scalars(scheduled)) | set(session.scalars(in_force)))


def windows_of(
    session: Session, credential_ids: Sequence[str]
) -> dict[str, list[CredentialWindow]]:
    """Returns the windows of each credential, oldest first."""
    result: dict[str, list[CredentialWindow]] = {cid: [] for cid in credential_ids}
    if not credential_ids:
        return result
    rows = session.scalars(
        select(CredentialWindow)
        .where(CredentialWindow.credential_id.in_(credential_ids))
        .order_by(CredentialWindow.valid_from_at, CredentialWindow.id)
    ).all()
    for row in rows:
        result[row.credential_id].append(row)
    return result


def replace_windows(
    session: Session,
    credential_id: str,
    windows: Sequence[tuple[datetime, datetime]],
    *,
    new: bool = False,
) -> None:
    """Replaces the windows of a credential (`new`: one just added, which has none yet)."""
    if not new:
        session.execute(
            delete(CredentialWindow).where(CredentialWindow.credential_id == credential_id)
        )
    if windows:
        rows = [
            {"credential_id": credential_id, "valid_from_at": start, "valid_to_at": end}
            for start, end in windows
        ]
        session.execute(plain_insert(CredentialWindow), rows)


def has_live_window(session: Session, credential_id: str, now: datetime) -> bool:
    """Tells whether the credential has a window that has not yet ended at `now`."""
    return bool(session.scalar(select(_live_window(now, credential_id))))


def count_active_credentials(
    session: Session, door_id: str, now: datetime, *, except_ref: str, up_to: int
) -> int:
    """Returns how many credentials of the door still hold a place (not revoked, not ended),
    counting no further than `up_to`: the caller asks only whether the door is full, and a
    count that stops there costs the same at 50,000 codes on the door as at 1,000."""
    places = (
        select(Credential.id)
        .where(
            Credential.door_id == door_id,
            Credential.ref != except_ref,
            Credential.revoked.is_(False),
            _live_window(now),
        )
        .limit(up_to)
        .subquery()
    )
    return int(session.scalar(select(func.count()).select_from(places)) or 0)


def new_credential_id() -> str:
    """Returns a new credential id."""
    return new_id("crd")
