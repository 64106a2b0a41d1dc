"""Durable background jobs kept in a context's own database; also its outbox.

A job is a row written in the same transaction as the change that causes it, so a message
to another context is never lost and never sent for a change that was rolled back.
Workers claim a due job by moving its `run_at` one lease ahead (on PostgreSQL with
`FOR UPDATE SKIP LOCKED`, so any number of workers never take the same job); a worker that
dies simply lets the lease run out and another takes the job over. A job that succeeds is
deleted; one that fails is retried with exponential backoff until it succeeds or gives up.
Handlers must therefore be idempotent.

A job with a fixed id, made by `enqueue_once`, is queued at most once at a time. A recurring
job (a purge, a reconciler) is such a job whose handler returns the wait until its next run:
the row is rescheduled, never copied, so neither concurrent start-ups nor a retry after a crash
can fork the chain.
"""

from __future__ import annotations

import hashlib
import logging
import os
import random
import secrets
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from prometheus_client import Counter
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
    delete,
    event,
    func,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from hallkey.core.clock import Clock
from hallkey.core.db import Database, UTCDateTime
from hallkey.core.ids import new_id

log = logging.getLogger(__name__)

JOBS_PROCESSED = Counter(
    "hallkey_jobs_processed_total", "Background jobs run, by outcome", ["table", "kind", "outcome"]
)

_ADDED_FLAG = "hallkey_jobs_added"


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
    return name[-64:]


def once_id(kind: str, key: str) -> str:
    """Returns the fixed job id for `enqueue_once` of `kind` about `key` (e.g. a door id)."""
    digest = hashlib.sha256(f"{kind}\0{key}".encode()).hexdigest()
    return f"job_{digest[:32]}"


class RetryLater(Exception):
    """Raised by a handler to be tried again; `reason` is logged and must hold no secrets."""

    def __init__(self, reason: str, *, after_seconds: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.after_seconds = after_seconds


class GiveUp(Exception):
    """Raised by a handler when trying again can never help; the job is kept as `dead`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class JobRun:
    """What a handler gets: the job's payload and how often it has been tried (1 = first)."""

    job_id: str
    kind: str
    payload: dict[str, Any]
    attempt: int


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
        event.listen(database.sessions, "after_commit", self._after_commit)

    def enqueue(
        self,
        session: Session,
        kind: str,
        payload: Mapping[str, Any],
        *,
        run_at: datetime | None = None,
    ) -> str:
        """Adds a job to the session's transaction; it runs only if that transaction commits."""
        now = self.clock.now()
        job_id = new_id("job")
        session.execute(
            self.table.insert().values(
                id=job_id,
                kind=kind,
                payload=dict(payload),
                status="pending",
                attempts=0,
                run_at=run_at or now,
                created_at=now,
            )
        )
        session.info[_ADDED_FLAG] = True
        return job_id

    def enqueue_once(
        self,
        session: Session,
        job_id: str,
        kind: str,
        payload: Mapping[str, Any] | None = None,
        *,
        run_at: datetime | None = None,
        rearm: bool = False,
    ) -> None:
        """Adds the job `job_id` unless it is already queued; it runs once committed (and due).

        With `rearm`, a job already queued or running is made to run (again) now: a run that
        is under way may have read its input before this transaction's change, so it must not
        be the last. (Its end then finds the row re-armed and leaves it; another worker may
        start the new run before it ends, so such a job must bear running twice at once.)
        """
        now = self.clock.now()
        values = {
            "id": job_id,
            "kind": kind,
            "payload": dict(payload or {}),
            "status": "pending",
            "attempts": 0,
            "run_at": run_at or now,
            "created_at": now,
        }
        insert = (
            postgresql_insert(self.table)
            if session.get_bind().dialect.name == "postgresql"
            else sqlite_insert(self.table)
        )
        # A dead row of the same id (given up on) is brought back; a live one is left alone,
        # unless re-armed (attempts 0 tells a run under way that its row is no longer its own).
        revive = {"status": "pending", "attempts": 0, "run_at": values["run_at"]}
        session.execute(
            insert.values(**values).on_conflict_do_update(
                index_elements=["id"],
                set_=revive,
                where=None if rearm else self.table.c.status == "dead",
            )
        )
        session.info[_ADDED_FLAG] = True

    def pending_count(self, session: Session, kind: str | None = None) -> int:
        """Returns how many jobs (of a kind) wait to be run."""
        query = select(func.count()).where(self.table.c.status == "pending")
        if kind is not None:
            query = query.where(self.table.c.kind == kind)
        return int(session.execute(query).scalar_one())

    def _after_commit(self, session: Session) -> None:
        if session.info.pop(_ADDED_FLAG, False):
            self.wakeup.set()


class Worker:
    """Runs the due jobs of one context, in a thread of its own or step by step in tests."""

    def __init__(
        self,
        *,
        name: str,
        queue: JobQueue,
        handlers: Mapping[str, Handler],
        poll_seconds: float = 0.5,
        lease_seconds: float = 60.0,
        backoff_max_seconds: float = 300.0,
    ) -> None:
        self.name = name
        self.queue = queue
        self.handlers = dict(handlers)
        self.poll_seconds = poll_seconds
        self.lease_seconds = lease_seconds
        self.backoff_max_seconds = backoff_max_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def _table(self) -> Table:
        return self.queue.table

    def _claim(self) -> JobRun | None:
        table = self._table
        clock = self.queue.clock
        with self.queue.database.transaction() as session:
            now = clock.now()
            due = (
                select(table.c.id)
                .where(table.c.status == "pending", table.c.run_at <= now)
                .order_by(table.c.run_at)
                .limit(1)
                .with_for_update(skip_locked=True)
                .scalar_subquery()
            )
            row = session.execute(
                update(table)
                .where(table.c.id == due)
                .values(
                    run_at=now + timedelta(seconds=self.lease_seconds),
                    attempts=table.c.attempts + 1,
                    locked_by=self.name,
                )
                .returning(table.c.id, table.c.kind, table.c.payload, table.c.attempts)
            ).first()
        if row is None:
            return None
        return JobRun(job_id=row.id, kind=row.kind, payload=dict(row.payload), attempt=row.attempts)

    def run_once(self) -> bool:
        """Runs one due job, if there is one; tells whether it found one."""
        job = self._claim()
        if job is None:
            return False
        handler = self.handlers.get(job.kind)
        table_name = self._table.name
        try:
            if handler is None:
                # A newer version's job met an older worker (a rolling deploy): leave it for
                # a worker that knows it.
                raise RetryLater(f"no handler for job kind {job.kind}", after_seconds=60)
            next_run = handler(job)
        except GiveUp as exc:
            self._finish(job, status="dead", error=exc.reason)
            JOBS_PROCESSED.labels(table_name, job.kind, "dead").inc()
            log.warning("job %s (%s) gave up: %s", job.job_id, job.kind, exc.reason)
        except RetryLater as exc:
            self._retry(job, exc.reason, exc.after_seconds)
            JOBS_PROCESSED.labels(table_name, job.kind, "retry").inc()
        except Exception as exc:
            # Only the exception type: messages may quote personal data or secrets.
            reason = f"unexpected {type(exc).__name__}"
            log.error("job %s (%s) failed: %s", job.job_id, job.kind, reason)
            self._retry(job, reason, None)
            JOBS_PROCESSED.labels(table_name, job.kind, "error").inc()
        else:
            self._done(job, next_run)
            JOBS_PROCESSED.labels(table_name, job.kind, "done").inc()
        return True

    def _still_ours(self, job: JobRun) -> ColumnElement[bool]:
        """Matches the job's row only while this run holds it: a run that outlived its lease
        (and whose job another worker took over) must not delete or reschedule it."""
        table = self._table
        return and_(table.c.id == job.job_id, table.c.attempts == job.attempt)

    def _done(self, job: JobRun, next_run: timedelta | None) -> None:
        table = self._table
        with self.queue.database.transaction() as session:
            if next_run is None:
                session.execute(delete(table).where(self._still_ours(job)))
                return
            session.execute(
                update(table)
                .where(self._still_ours(job))
                .values(
                    run_at=self.queue.clock.now() + next_run,
                    attempts=0,
                    last_error=None,
                    locked_by=None,
                )
            )

    def run_pending(self, limit: int = 1000) -> int:
        """Runs due jobs until none is left (or `limit`); returns how many ran."""
        count = 0
        while count < limit and self.run_once():
            count += 1
        return count

    def backoff_seconds(self, attempt: int) -> float:
        """Returns the wait before try `attempt + 1`: exponential, capped, with jitter."""
        base = min(self.backoff_max_seconds, 2.0 ** min(attempt - 1, 20))
        return float(base * (0.75 + random.random() / 2))  # noqa: S311 - jitter, not secrecy

    def _retry(self, job: JobRun, reason: str, after_seconds: float | None) -> None:
        delay = after_seconds if after_seconds is not None else self.backoff_seconds(job.attempt)
        log.info(
            "job %s (%s) try %d: %s; again in %.1fs",
            job.job_id,
            job.kind,
            job.attempt,
            reason,
            delay,
        )
        with self.queue.database.transaction() as session:
            session.execute(
                update(self._table)
                .where(self._still_ours(job))
                .values(
                    run_at=self.queue.clock.now() + timedelta(seconds=delay),
                    last_error=reason[:300],
                    locked_by=None,
                )
            )

    def _finish(self, job: JobRun, *, status: str, error: str) -> None:
        with self.queue.database.transaction() as session:
            session.execute(
                update(self._table)
                .where(self._still_ours(job))
                .values(status=status, last_error=error[:300], locked_by=None)
            )

    def start(self) -> None:
        """Starts the worker's thread."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name=f"worker-{self.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Asks the worker's thread to stop after its current job and waits for it."""
        self._stop.set()
        self.queue.wakeup.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def run_forever(self) -> None:
        """Runs jobs in the calling thread until `stop` is called."""
        self._stop.clear()
        self._loop()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                found = self.run_once()
            except Exception as exc:
                log.error("worker %s could not claim a job: %s", self.name, type(exc).__name__)
                found = False
            if not found:
                self.queue.wakeup.wait(self.poll_seconds)
                self.queue.wakeup.clear()
