"""The series' queries, and the one way a change of a series reaches its grant at the hub.

Any change of a series or of one of its occurrences bumps the series' `version` (the revision
the hub orders our calls by), makes its access `pending` until the hub confirms that version,
and enqueues `sync_series_access` in the same transaction (the jobs table is the outbox).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from hallkey.booking.models import Reservation
from hallkey.booking.series_models import Series
from hallkey.core.jobs import PRIORITY_REVOKE

if TYPE_CHECKING:
    from hallkey.booking.context import BookingContext

SYNC_SERIES_ACCESS = "sync_series_access"


def series(session: Session, series_id: str, *, lock: bool = False) -> Series | None:
    """Returns the series, row-locked for update when `lock` (PostgreSQL)."""
    query = select(Series).where(Series.id == series_id)
    if lock:
        query = query.with_for_update()
    return session.scalars(query).first()


def series_by_ref(
    session: Session, tenant_id: str, ref: str, *, lock: bool = False
) -> Series | None:
    """Returns the tenant's series with this ref (unique index on ref), row-locked for update
    when `lock` (PostgreSQL)."""
    query = select(Series).where(Series.ref == ref, Series.tenant_id == tenant_id)
    if lock:
        query = query.with_for_update()
    return session.scalars(query).first()


def series_of_customer(session: Session, customer_id: str) -> list[Series]:
    """Returns the customer's series (by the customer_id index)."""
    return list(session.scalars(select(Series).where(Series.customer_id == customer_id)))


def series_of_tenant(
    session: Session,
    tenant_id: str,
    *,
    status: str | None = None,
    resource_ids: Iterable[str] | None = None,
    limit: int = 200,
) -> list[Series]:
    """Returns the tenant's series, newest first, of a status and of these resources when
    given (by the tenant_id index; a tenant has a few hundred series at most)."""
    query = select(Series).where(Series.tenant_id == tenant_id)
    if status is not None:
        query = query.where(Series.status == status)
    if resource_ids is not None:
        query = query.where(Series.resource_id.in_(list(resource_ids)))
    query = query.order_by(Series.created_at.desc(), Series.id.desc()).limit(limit)
    return list(session.scalars(query))


def access_states(session: Session, series_ids: Iterable[str]) -> dict[str, str]:
    """Returns the access state of each of these series (by primary key)."""
    wanted = list(series_ids)
    if not wanted:
        return {}
    rows = session.execute(select(Series.id, Series.access_state).where(Series.id.in_(wanted)))
    return {row[0]: row[1] for row in rows}


def occurrences(session: Session, series_id: str, *, lock: bool = False) -> list[Reservation]:
    """Returns the series' occurrences, earliest first (by the series_id index)."""
    query = (
        select(Reservation)
        .where(Reservation.series_id == series_id)
        .order_by(Reservation.start_at, Reservation.id)
    )
    if lock:
        query = query.with_for_update()
    return list(session.scalars(query))


def mark_changed(
    ctx: BookingContext, session: Session, row: Series, *, taking_away: bool = False
) -> None:
    """Bumps the series' version and queues the push of its access as it is now.

    `taking_away`: the change removes access (a cancel, a denial): pushed before grants."""
    row.version += 1
    row.updated_at = ctx.clock.now()
    # The access shown so far is what the hub confirmed for the previous version.
    row.access_state = "pending"
    row.access_secret_sealed = None
    row.access_error = None
    enqueue_sync(ctx, session, row.id, taking_away=taking_away)


def enqueue_sync(
    ctx: BookingContext, session: Session, series_id: str, *, taking_away: bool = False
) -> None:
    """Queues the push of the series' access (state-based: any number of times is fine)."""
    priority = PRIORITY_REVOKE if taking_away else 0
    payload = {"series_id": series_id}
    ctx.jobs.enqueue(session, SYNC_SERIES_ACCESS, payload, peer="hub", priority=priority)


def occurrence_changed(
    ctx: BookingContext, session: Session, series_id: str, *, taking_away: bool
) -> None:
    """Records that one occurrence moved or was cancelled: the series' grant follows."""
    row = series(session, series_id, lock=True)
    if row is not None:
        mark_changed(ctx, session, row, taking_away=taking_away)
