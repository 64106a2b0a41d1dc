"""The statements that claim and settle a worker's jobs.

A claim moves a due job's `run_at` one lease ahead and writes the claim's token into
`locked_by`; a run may settle the row only while that token still holds it (a re-arm or a
take-over gave the row to another run).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Delete,
    Table,
    Update,
    and_,
    bindparam,
    delete,
    select,
    tuple_,
    update,
)
from sqlalchemy.orm import Session

from hallkey.core.jobs.queue import JobQueue, claim_token
from hallkey.core.jobs.runs import JobRun


def claim_batch(
    session: Session,
    queue: JobQueue,
    worker: str,
    lease: timedelta,
    limit: int,
    settle: Sequence[JobRun] = (),
) -> list[JobRun]:
    """Deletes the rows of the `settle` runs (succeeded, still claimed by them) and claims
    up to `limit` due jobs for `worker`, the most urgent first, in the session's transaction.

    The jobs of one claim share its token: a claim is still told apart by the job's id, and
    any later claim of the same job carries a new token.
    """
    delete_succeeded(session, queue.table, settle)
    if limit < 1:
        return []
    token = claim_token(worker)
    now = queue.clock.now()
    parameters = {"now": now, "lease_until": now + lease, "token": token, "limit": limit}
    rows = list(session.execute(claim_statement(queue.table), parameters).all())
    rows.sort(key=lambda row: -int(row.priority))
    return [
        JobRun(
            job_id=row.id,
            kind=row.kind,
            payload=dict(row.payload),
            attempt=row.attempts,
            claim=token,
            peer=row.peer,
        )
        for row in rows
    ]


@functools.cache
def claim_statement(table: Table) -> Update:
    """Returns the statement that claims up to `limit` jobs due at `now` for `token` until
    `lease_until`, the most urgent first (built once a table: building a statement costs as
    much again as running it)."""
    due = (
        select(table.c.id)
        .where(table.c.status == "pending", table.c.run_at <= bindparam("now"))
        .order_by(table.c.priority.desc(), table.c.run_at)
        .limit(bindparam("limit"))
        .with_for_update(skip_locked=True)
    )
    return (
        update(table)
        .where(table.c.id.in_(due))
        .values(
            run_at=bindparam("lease_until"),
            attempts=table.c.attempts + 1,
            locked_by=bindparam("token"),
        )
        .returning(
            table.c.id,
            table.c.kind,
            table.c.payload,
            table.c.attempts,
            table.c.peer,
            table.c.priority,
        )
    )


def still_ours(table: Table, job: JobRun) -> ColumnElement[bool]:
    """Matches the job's row only while this run's claim holds it: a run that outlived its
    lease, or whose job was re-armed, must not delete or reschedule another run's row."""
    return and_(table.c.id == job.job_id, table.c.locked_by == job.claim)


def delete_succeeded(session: Session, table: Table, runs: Sequence[JobRun]) -> None:
    """Deletes the rows of succeeded runs whose claim still holds them, in one statement: a
    row goes only with its own (id, claim) pair, never because another run of the list shares
    its claim or its id."""
    if runs:
        session.execute(_delete_claimed(table), {"pairs": _pairs(runs)})


@functools.cache
def _delete_claimed(table: Table) -> Delete:
    return delete(table).where(_claimed_by_pairs(table))


def _claimed_by_pairs(table: Table) -> ColumnElement[bool]:
    """Matches the rows still claimed by the runs bound as `pairs` (`_pairs`): each row only
    with its own (id, claim) pair, never because another run shares its claim or its id."""
    return tuple_(table.c.id, table.c.locked_by).in_(bindparam("pairs", expanding=True))


def _pairs(runs: Sequence[JobRun]) -> list[tuple[str, str]]:
    return [(run.job_id, run.claim) for run in runs]


def give_back(session: Session, table: Table, runs: Sequence[JobRun], at: datetime) -> None:
    """Gives claimed jobs that never started back to the queue, due at `at`, their claim's
    try undone (a worker that stops leaves the jobs it claimed ahead to the others at once,
    not after their lease)."""
    if runs:
        session.execute(_give_back_claimed(table), {"pairs": _pairs(runs), "at": at})


@functools.cache
def _give_back_claimed(table: Table) -> Update:
    return (
        update(table)
        .where(_claimed_by_pairs(table))
        .values(locked_by=None, run_at=bindparam("at"), attempts=table.c.attempts - 1)
    )


def renew(session: Session, table: Table, job: JobRun, until: datetime) -> bool:
    """Moves the job's lease to `until` while the claim is ours; tells whether it was."""
    result = session.execute(update(table).where(still_ours(table, job)).values(run_at=until))
    return bool(getattr(result, "rowcount", 0))


def release(session: Session, table: Table, job: JobRun, **values: Any) -> None:
    """Gives up the run's claim on the job's row (if still ours), setting `values`."""
    session.execute(update(table).where(still_ours(table, job)).values(locked_by=None, **values))


def delete_run(session: Session, table: Table, job: JobRun) -> None:
    """Deletes the job's row (if the run's claim still holds it): the job is done."""
    session.execute(delete(table).where(still_ours(table, job)))
