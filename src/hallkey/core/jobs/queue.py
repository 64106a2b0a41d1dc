"""The jobs table of a context and the queue that writes it inside the caller's transaction."""

from __future__ import annotations

import hashlib
import os
import secrets
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    ColumnElement,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    event,
    func,
    select,
    update,
)
from sqlalchemy.orm import Session

from hallkey.core.clock import Clock
from hallkey.core.db import Database, UTCDateTime, dialect_insert
from hallkey.core.ids import new_id
from hallkey.core.jobs.runs import JobRun

_ADDED_FLAG = "hallkey_jobs_added"

PRIORITY_REVOKE = 10
"""Priority of a job that takes access away: it runs before any job that gives access."""

WORKER_NAME_LENGTH = 48
"""Longest worker name: a claim token is the name, a colon and 12 hex digits (String(64))."""


def job_table(metadata: MetaData, name: str) -> Table:
    """Returns the jobs table of a context (each context names its own, e.g. `hub_jobs`)."""
    return Table(
        name,
        metadata,
        Column("id", String(40), primary_key=True),
        Column("kind", String(64), nullable=False),
        Column("payload", JSON, nullable=False),
        Column("status", String(16), nullable=False),
        Column("attempts", Integer, nullable=False),
        Column("run_at", UTCDateTime(), nullable=False),
        # The claim token of the run that holds the job (worker name and a nonce), or None.
        Column("locked_by", String(64), nullable=True),
        Column("last_error", String(300), nullable=True),
        Column("created_at", UTCDateTime(), nullable=False),
        # The peer (another context, a site's lock system) the job talks to: when that peer
        # answers again, the jobs waiting on it are run at once instead of after their backoff.
        Column("peer", String(128), nullable=True),
        # Higher runs first among due jobs (a revocation before a programming).
        Column("priority", Integer, nullable=False, server_default="0"),
        Index(f"ix_{name}_due", "status", "run_at"),
        Index(f"ix_{name}_peer", "peer", "status"),
    )


def worker_name(context: str) -> str:
    """Returns a name for one worker that no other process has: containers share pids."""
    name = f"{context}-{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
    return name[-WORKER_NAME_LENGTH:]


def claim_token(worker: str) -> str:
    """Returns a token naming one claim of a job by `worker`; no other claim ever has it."""
    return f"{worker[-WORKER_NAME_LENGTH:]}:{secrets.token_hex(6)}"


def once_id(kind: str, key: str) -> str:
    """Returns the fixed job id for `enqueue_once` of `kind` about `key` (e.g. a door id)."""
    digest = hashlib.sha256(f"{kind}\0{key}".encode()).hexdigest()
    return f"job_{digest[:32]}"


@dataclass(frozen=True)
class JobInfo:
    """A queued job as an operator sees it (its payload left out)."""

    id: str
    kind: str
    status: str
    attempts: int
    run_at: datetime
    peer: str | None
    priority: int
    last_error: str | None


Handler = Callable[[JobRun], timedelta | None]
"""Runs a job. Returns None when the job is done, or the wait until a recurring job's next run.

It may be run more than once for one job (a lost lease, a crash before the row is deleted), so
it must be idempotent. Raise `RetryLater` for a passing failure, `GiveUp` when trying again
can never help; any other exception is logged (by type only) and retried with backoff.
"""


class JobQueue:
    """Writes jobs into a context's jobs table, inside the caller's transaction."""

    def __init__(self, database: Database, table: Table, clock: Clock) -> None:
        self.database = database
        self.table = table
        self.clock = clock
        self.wakeup = threading.Event()
        self._insert = table.insert()  # built once: building costs as much as running it
        self._insert_once = {rearm: self._upsert(rearm) for rearm in (False, True)}
        event.listen(database.sessions, "after_commit", self._after_commit)

    def enqueue(
        self,
        session: Session,
        kind: str,
        payload: Mapping[str, Any],
        *,
        run_at: datetime | None = None,
        peer: str | None = None,
        priority: int = 0,
    ) -> str:
        """Adds a job to the session's transaction; it runs only if that transaction commits."""
        job_id = new_id("job")
        session.execute(self._insert, self._new_row(job_id, kind, payload, run_at, peer, priority))
        if self._due_now(run_at):
            session.info[_ADDED_FLAG] = True
        return job_id

    def _new_row(
        self,
        job_id: str,
        kind: str,
        payload: Mapping[str, Any] | None,
        run_at: datetime | None,
        peer: str | None,
        priority: int,
    ) -> dict[str, Any]:
        """Returns the columns of a new pending job, due at `run_at` (default: now)."""
        now = self.clock.now()
        return {
            "id": job_id,
            "kind": kind,
            "payload": dict(payload or {}),
            "status": "pending",
            "attempts": 0,
            "run_at": run_at or now,
            "created_at": now,
            "peer": peer,
            "priority": priority,
        }

    def enqueue_once(
        self,
        session: Session,
        job_id: str,
        kind: str,
        payload: Mapping[str, Any] | None = None,
        *,
        run_at: datetime | None = None,
        rearm: bool = False,
        peer: str | None = None,
        priority: int = 0,
    ) -> None:
        """Adds the job `job_id` unless it is already queued; it runs once committed (and due).

        With `rearm`, a job already queued or running is made to run (again) now: a run that
        is under way may have read its input before this transaction's change, so it must not
        be the last. (Its end then finds its claim gone and leaves the row; another worker may
        start the new run before it ends, so such a job must bear running twice at once.)
        """
        values = self._new_row(job_id, kind, payload, run_at, peer, priority)
        session.execute(self._insert_once[rearm], values)
        if self._due_now(run_at):
            session.info[_ADDED_FLAG] = True

    def _due_now(self, run_at: datetime | None) -> bool:
        """Tells whether a job queued for `run_at` is due at once: only then is the worker
        woken (a claim for a job not yet due finds nothing; the poll finds it when it is)."""
        return run_at is None or run_at <= self.clock.now()

    def _upsert(self, rearm: bool) -> Any:
        """Returns the INSERT of `enqueue_once` for the queue's database (built once each).

        A dead row of the same id (given up on) is brought back with the new row's schedule; a
        live one is left alone, unless re-armed: clearing `locked_by` takes the row from a run
        under way, whose end then matches nothing, and makes it claimable now by any worker.
        """
        insert = dialect_insert(self.database.engine.dialect.name, self.table)
        new = insert.excluded
        revive = {
            "status": new.status,
            "attempts": new.attempts,
            "run_at": new.run_at,
            "locked_by": None,
            "peer": new.peer,
            "priority": new.priority,
        }
        return insert.on_conflict_do_update(
            index_elements=["id"],
            set_=revive,
            where=None if rearm else self.table.c.status == "dead",
        )

    def _waiting(self, now: datetime) -> ColumnElement[bool]:
        """Matches the jobs that failed and now sit out their backoff (never a running one).

        A failed try counts in `attempts`; a job that is merely scheduled (new, recurring, or
        rescheduled by `RetryLater(keep_schedule=True)`) has none, and is never woken early.
        """
        table = self.table
        return and_(
            table.c.status == "pending",
            table.c.locked_by.is_(None),
            table.c.attempts > 0,
            table.c.run_at > now,
        )

    def wake_peer(self, session: Session, peer: str) -> int:
        """Makes every job waiting on `peer` due now (it answers again); returns how many."""
        now = self.clock.now()
        table = self.table
        result = session.execute(
            update(table)
            .where(table.c.peer == peer, self._waiting(now))
            .values(run_at=now)
            .execution_options(synchronize_session=False)
        )
        woken = int(getattr(result, "rowcount", 0) or 0)
        if woken:
            session.info[_ADDED_FLAG] = True
        return woken

    def probe_peers(self, session: Session, seen: set[str] | None = None) -> int:
        """Makes the first waiting job of every peer due now, to learn whether it answers.

        Its success then wakes the peer's other jobs, so a recovery is noticed within one
        probe interval however long the backoff has grown. Returns how many were made due;
        adds the peers that have waiting jobs to `seen`, if given.
        """
        now = self.clock.now()
        table = self.table
        peers = session.scalars(
            select(table.c.peer)
            .where(table.c.peer.is_not(None), self._waiting(now))
            .group_by(table.c.peer)
        ).all()
        if seen is not None:
            seen.update(peers)
        probed = 0
        for peer in peers:
            # The most urgent first: if it gets through, a revocation is not kept waiting.
            first = (
                select(table.c.id)
                .where(table.c.peer == peer, self._waiting(now))
                .order_by(table.c.priority.desc(), table.c.run_at)
                .limit(1)
                .scalar_subquery()
            )
            # The conditions again: the row may have changed since the select (PostgreSQL
            # re-checks them on the row it locks), and a running job must never be made due.
            result = session.execute(
                update(table)
                .where(table.c.id == first, self._waiting(now))
                .values(run_at=now)
                .execution_options(synchronize_session=False)
            )
            probed += int(getattr(result, "rowcount", 0) or 0)
        if probed:
            session.info[_ADDED_FLAG] = True
        return probed

    def pending_count(self, session: Session, kind: str | None = None) -> int:
        """Returns how many jobs (of a kind) wait to be run."""
        query = select(func.count()).where(self.table.c.status == "pending")
        if kind is not None:
            query = query.where(self.table.c.kind == kind)
        return int(session.execute(query).scalar_one())

    def list_jobs(self, session: Session, *, dead_only: bool = False) -> list[JobInfo]:
        """Returns the queued jobs (payload left out), dead ones first, then by due time."""
        table = self.table
        query = select(
            table.c.id,
            table.c.kind,
            table.c.status,
            table.c.attempts,
            table.c.run_at,
            table.c.peer,
            table.c.priority,
            table.c.last_error,
        ).order_by((table.c.status == "dead").desc(), table.c.run_at, table.c.id)
        if dead_only:
            query = query.where(table.c.status == "dead")
        return [JobInfo(**row._mapping) for row in session.execute(query)]

    def retry_dead(
        self, session: Session, *, kind: str | None = None, job_id: str | None = None
    ) -> int:
        """Brings dead jobs (of a kind, or one by id) back to run now; returns how many."""
        table = self.table
        query = update(table).where(table.c.status == "dead")
        if kind is not None:
            query = query.where(table.c.kind == kind)
        if job_id is not None:
            query = query.where(table.c.id == job_id)
        result = session.execute(
            query.values(status="pending", attempts=0, run_at=self.clock.now(), locked_by=None)
        )
        revived = int(getattr(result, "rowcount", 0) or 0)
        if revived:
            session.info[_ADDED_FLAG] = True
        return revived

    def _after_commit(self, session: Session) -> None:
        if session.info.pop(_ADDED_FLAG, False):
            self.wakeup.set()
