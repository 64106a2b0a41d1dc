"""The reconciler's queries: a door's grant rows believed applied, a page of refs at a time in
code-point order (`core.db.code_order`, the (door_id, ref) index), and what it needs beside."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from hallkey.core.db import code_order
from hallkey.hub.domain import Window
from hallkey.hub.models import Grant, GrantDoor, GrantWindow


def applied_at_door(
    session: Session,
    door_id: str,
    now: datetime,
    held_refs: Iterable[str] = (),
    *,
    hub_only: Sequence[str] = (),
    after: str | None = None,
    upto: str | None = None,
    limit: int | None = None,
) -> list[tuple[GrantDoor, str]]:
    """Returns the door's grant rows believed applied (programmed or revoked) or given up as
    `failed` (so a door refusing for good is checked too), each with its grant's ref, by ref:
    those whose grant has not ended, and those of `held_refs` in any case; never those of the
    `hub_only` credential types, which the door does not hold. Only refs after `after` and up
    to `upto`, at most `limit` rows (the reconciler's page)."""
    refs = list(held_refs)
    live = Grant.valid_to_at > now
    query = (
        select(GrantDoor, Grant.ref)
        .join(Grant, Grant.id == GrantDoor.grant_id)
        .where(
            GrantDoor.door_id == door_id,
            GrantDoor.state.in_(("programmed", "revoked", "failed")),
            or_(live, Grant.ref.in_(refs)) if refs else live,
            Grant.credential.not_in(list(hub_only)),
        )
    )
    # By the row's own copy of the ref: the (door_id, ref) index gives the order.
    if after is not None:
        query = query.where(code_order(GrantDoor.ref) > after)
    if upto is not None:
        query = query.where(code_order(GrantDoor.ref) <= upto)
    query = query.order_by(code_order(GrantDoor.ref), GrantDoor.grant_id).limit(limit)
    return [(row, ref) for row, ref in session.execute(query).all()]


def windows_of_grants(session: Session, grant_ids: Sequence[str]) -> dict[str, list[Window]]:
    """Returns the windows of each grant, oldest first."""
    result: dict[str, list[Window]] = {grant_id: [] for grant_id in grant_ids}
    if not grant_ids:
        return result
    rows = session.execute(
        select(GrantWindow.grant_id, GrantWindow.valid_from_at, GrantWindow.valid_to_at)
        .where(GrantWindow.grant_id.in_(grant_ids))
        .order_by(GrantWindow.valid_from_at)
    ).all()
    for grant_id, valid_from, valid_to in rows:
        result[grant_id].append(Window(valid_from, valid_to))
    return result


def refs_granted_at_door(session: Session, door_id: str, refs: Iterable[str]) -> set[str]:
    """Returns which of `refs` the hub has a grant for at the door (in any state)."""
    wanted = list(refs)
    if not wanted:
        return set()
    query = (
        select(Grant.ref)
        .join(GrantDoor, GrantDoor.grant_id == Grant.id)
        .where(GrantDoor.door_id == door_id, Grant.ref.in_(wanted))
    )
    return set(session.scalars(query).all())
