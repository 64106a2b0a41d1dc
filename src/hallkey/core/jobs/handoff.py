"""Jobs queued where a runner is free are queued claimed by it: no claim transaction.

A job queued in a process whose worker has an idle runner would otherwise be written, then
found by that worker's claim — a write transaction of its own, in the database's write lock
on SQLite, for each job or two. Instead the queue asks the worker for a runner (`Taker.
reserve`) and, given one, writes the row as a claim writes it: its first try counted, `run_at`
one lease ahead, the claim's token in `locked_by`. When the transaction commits, the run goes
to the runner; when it ends otherwise, the runner is given back and nothing runs (the row was
never written). A process that dies in between leaves a claimed row whose lease runs out, and
another worker takes the job over: as with any claim.

Only a job due now, queued outside any savepoint (a savepoint rolled back takes its row with
it, but not the run noted here), to a worker that is running and has no backlog: a job queued
here never overtakes due jobs already waiting in the table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session, SessionTransaction

from hallkey.core.jobs.runs import JobRun

_HANDED = "hallkey_jobs_handed"


@dataclass(frozen=True)
class Reservation:
    """A runner set aside for one job: the claim's token and its lease."""

    token: str
    lease_until: datetime


class Taker(Protocol):
    """A worker that takes jobs queued in its process (`Worker`)."""

    def reserve(self) -> Reservation | None:
        """Sets an idle runner aside for a job, if one is idle and nothing waits before it."""

    def take(self, runs: list[JobRun]) -> None:
        """Runs jobs whose rows are committed, on the runners set aside for them."""

    def give_back(self, count: int) -> None:
        """Frees runners set aside for jobs that were not committed."""


def claim_here(session: Session, taker: Taker | None, row: dict[str, Any]) -> bool:
    """Turns a new job's row into one claimed by `taker`'s worker, if it has a runner for it;
    tells whether it did. The run is handed over when the session commits."""
    if taker is None or session.in_nested_transaction():
        return False
    reservation = taker.reserve()
    if reservation is None:
        return False
    row.update(attempts=1, run_at=reservation.lease_until, locked_by=reservation.token)
    run = JobRun(
        job_id=row["id"],
        kind=row["kind"],
        # As a claim would read it back from the JSON column.
        payload=json.loads(json.dumps(row["payload"])),
        attempt=1,
        claim=reservation.token,
        peer=row["peer"],
    )
    session.info.setdefault(_HANDED, []).append((taker, run))
    return True


def after_commit(session: Session) -> None:
    """Hands the runs of the committed transaction to their runners."""
    handed: list[tuple[Taker, JobRun]] = session.info.pop(_HANDED, [])
    for taker in {id(taker): taker for taker, _ in handed}.values():
        taker.take([run for each, run in handed if each is taker])


def after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    """Gives back the runners of a transaction that ended without committing."""
    if transaction.parent is not None:
        return  # a savepoint: its jobs were never handed (see `claim_here`)
    handed: list[tuple[Taker, JobRun]] = session.info.pop(_HANDED, [])
    for taker in {id(taker): taker for taker, _ in handed}.values():
        taker.give_back(sum(1 for each, _ in handed if each is taker))
