"""A new grant's rows written by Core INSERTs, not by the ORM's flush.

Nothing in the transaction that makes a grant reads its row or its door rows back as objects
(its answer, jobs and webhook message are made from the objects in hand), so they need no unit
of work: a flush costs as much again as the INSERT, and on SQLite it is paid inside the
database's write lock, which every writer of the hub takes in turn. The objects stay as made
(not in the session): a later query in the transaction reads the rows afresh.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from hallkey.core.db import column_values, insert_if_new, plain_insert
from hallkey.hub.models import Grant, GrantDoor


def insert_new_grant(session: Session, grant: Grant) -> bool:
    """Inserts a grant unless its client has one with its ref; tells whether it did (a
    concurrent GrantAccess for the ref that committed first is found this way, without a
    savepoint around the INSERT to catch its error)."""
    return insert_if_new(session, Grant, column_values(grant), ["client_id", "ref"], Grant.id)


def new_door_row(grant: Grant, door_id: str, now: datetime) -> GrantDoor:
    """Returns a door row of `grant` pending its first programming (not yet written)."""
    return GrantDoor(
        grant_id=grant.id,
        door_id=door_id,
        ref=grant.ref,
        action="program",
        state="pending",
        errors=[],
        desired_version=1,
        programmed_version=0,
        attempts=0,
        updated_at=now,
    )


def insert_new_door_rows(
    session: Session, grant: Grant, door_ids: Sequence[str], now: datetime
) -> list[GrantDoor]:
    """Writes a new grant's door rows in one statement and returns them as objects."""
    rows = [new_door_row(grant, door_id, now) for door_id in door_ids]
    if rows:
        session.execute(plain_insert(GrantDoor), [column_values(row) for row in rows])
    return rows
