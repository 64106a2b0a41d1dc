"""The worker: claims due jobs, keeps their lease while they run, settles their outcome."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta

from prometheus_client import Counter
from sqlalchemy import Table

from hallkey.core.jobs.claims import (
    claim_batch,
    delete_run,
    delete_succeeded,
    release,
    renew,
)
from hallkey.core.jobs.dispatch import Dispatcher
from hallkey.core.jobs.lease import LeaseKeeper
from hallkey.core.jobs.peers import PeerWatch
from hallkey.core.jobs.queue import Handler, JobQueue
from hallkey.core.jobs.runs import GiveUp, JobRun, RetryLater
from hallkey.core.jobs.settling import SucceededRuns
from hallkey.core.write_lock import UNIT_OF_WORK

log = logging.getLogger("hallkey.core.jobs")

JOBS_PROCESSED = Counter(
    "hallkey_jobs_processed_total", "Background jobs run, by outcome", ["table", "kind", "outcome"]
)


class Worker:
    """Runs the due jobs of one context, in a thread of its own or step by step in tests.

    A claim moves the job's `run_at` one lease ahead and stores a token of its own in
    `locked_by`; while the handler runs, a heartbeat renews the lease every `heartbeat_seconds`
    (a third of the lease), so a live run keeps its job however long it takes and a dead
    worker's job is taken over within one lease. The run's end settles the row only if the
    claim is still its own: a re-arm or a take-over gave the row to another run.

    `threads` runners run jobs side by side (a job mostly waits on a peer's answer or on the
    database); a dispatcher (`dispatch`) claims due jobs for them in one transaction: when a
    runner is idle, as many as runners are idle and `ahead` more. The jobs claimed ahead wait,
    their leases kept, for the next runner that finishes: under a backlog a claim serves
    `ahead + 1` jobs, not one (each claim is a write transaction, and on SQLite the context's
    one write lock). Claims are rows of their own, so several workers (threads or processes)
    share nothing but the queue.

    A runner's plain success (the row is to be deleted, no peer to wake) is settled by the
    dispatcher, in the transaction of a claim it makes anyway (see `settling`). The dispatcher
    claims when a runner is idle and jobs may be due: its last claim took all it had room for
    (more may wait), a job was queued in this process since (`JobQueue.wakeup`), or its poll
    came round (jobs queued elsewhere, retries come due).
    """

    def __init__(
        self,
        *,
        name: str,
        queue: JobQueue,
        handlers: Mapping[str, Handler],
        poll_seconds: float = 0.5,
        lease_seconds: float = 15.0,
        backoff_max_seconds: float = 300.0,
        probe_seconds: float = 2.0,
        heartbeat_seconds: float | None = None,
        threads: int = 1,
        ahead: int = 0,
    ) -> None:
        self.name = name
        self.queue = queue
        self.handlers = dict(handlers)
        self.poll_seconds = poll_seconds
        self.lease_seconds = lease_seconds
        self.backoff_max_seconds = backoff_max_seconds
        self.heartbeat_seconds = heartbeat_seconds or lease_seconds / 3
        if threads < 1:
            raise ValueError("a worker needs at least one thread")
        self.threads = threads
        if ahead < 0:
            raise ValueError("a worker cannot claim fewer than no jobs ahead")
        self.ahead = ahead
        self.on_start: list[Callable[[], None]] = []
        """Called each time the worker starts (e.g. to say "I am back" to a peer at once)."""
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._leases = LeaseKeeper(name, self.heartbeat_seconds, self._renew)
        self.peers = PeerWatch(queue, probe_seconds)
        # A success waits for a claim at most until its row's lease would let another run
        # take the job again (less by far: a heartbeat's time).
        self._succeeded = SucceededRuns(wait_seconds=min(poll_seconds, self.heartbeat_seconds))
        self._dispatcher = Dispatcher(
            name=name,
            queue=queue,
            threads=threads,
            ahead=ahead,
            poll_seconds=poll_seconds,
            leases=self._leases,
            peers=self.peers,
            succeeded=self._succeeded,
            stopping=self._stop,
            claim=self._claim_batch,
            run=self._run_claimed,
            settle_succeeded=self._settle_succeeded,
        )

    @property
    def _table(self) -> Table:
        return self.queue.table

    def _claim(self) -> JobRun | None:
        """Claims the most urgent due job, if there is one."""
        jobs = self._claim_batch(1)
        return jobs[0] if jobs else None

    def _claim_batch(self, limit: int, settle: Sequence[JobRun] = ()) -> list[JobRun]:
        """Deletes the rows of the `settle` runs and claims up to `limit` due jobs, in one
        transaction (`claims.claim_batch`)."""
        lease = timedelta(seconds=self.lease_seconds)
        unit = UNIT_OF_WORK.set("claim")
        try:
            with self.queue.database.transaction() as session:
                return claim_batch(session, self.queue, self.name, lease, limit, settle)
        finally:
            UNIT_OF_WORK.reset(unit)

    def _settle_succeeded(self) -> None:
        """Deletes the rows of the succeeded runs now, in a transaction of their own (when
        the dispatcher has stopped and no further claim will take them along)."""
        runs = self._succeeded.take()
        if runs:
            with self.queue.database.transaction() as session:
                delete_succeeded(session, self._table, runs)

    def run_once(self) -> bool:
        """Runs one due job, if there is one; tells whether it found one."""
        job = self._claim()
        if job is None:
            return False
        self._run(job)
        return True

    def _run_claimed(self, job: JobRun) -> None:
        """Runs a job the dispatcher claimed; a plain success waits for its next claim,
        unless the worker stops (no claim may follow)."""
        self._run(job, defer_success=not self._stop.is_set())

    def _run(self, job: JobRun, *, defer_success: bool = False) -> None:
        """Runs one claimed job and settles its outcome (a plain success, when
        `defer_success`, by the dispatcher's next claim)."""
        handler = self.handlers.get(job.kind)
        table_name = self._table.name
        unit = UNIT_OF_WORK.set(job.kind)  # its outcome's write too
        try:
            if handler is None:
                # A newer version's job met an older worker (a rolling deploy): leave it for
                # a worker that knows it.
                raise RetryLater(f"no handler for job kind {job.kind}", after_seconds=60)
            with self._leases.kept(job):
                next_run = handler(job)
        except GiveUp as exc:
            self._finish(job, status="dead", error=exc.reason)
            JOBS_PROCESSED.labels(table_name, job.kind, "dead").inc()
            log.warning("job %s (%s) gave up: %s", job.job_id, job.kind, exc.reason)
        except RetryLater as exc:
            self._retry(job, exc.reason, exc.after_seconds, keep_schedule=exc.keep_schedule)
            JOBS_PROCESSED.labels(table_name, job.kind, "retry").inc()
        except Exception as exc:
            # Only the exception type: messages may quote personal data or secrets.
            reason = f"unexpected {type(exc).__name__}"
            log.error("job %s (%s) failed: %s", job.job_id, job.kind, reason)
            self._retry(job, reason, None)
            JOBS_PROCESSED.labels(table_name, job.kind, "error").inc()
        else:
            if defer_success and next_run is None and not self._wakes_a_peer(job):
                self._succeeded.add(job)  # settled by a claim made anyway
            else:
                self._done(job, next_run)
            JOBS_PROCESSED.labels(table_name, job.kind, "done").inc()
        finally:
            UNIT_OF_WORK.reset(unit)

    def _renew(self, job: JobRun) -> bool:
        """Moves the job's lease one lease ahead while the claim is ours; tells whether it was."""
        until = self.queue.clock.now() + timedelta(seconds=self.lease_seconds)
        with self.queue.database.transaction() as session:
            return renew(session, self._table, job, until)

    def _wakes_a_peer(self, job: JobRun) -> bool:
        return job.peer is not None and self.peers.waits(job.peer)

    def _done(self, job: JobRun, next_run: timedelta | None) -> None:
        with self.queue.database.transaction() as session:
            if job.peer is not None and self.peers.waits(job.peer):
                self.peers.wake(session, job.peer)
            if next_run is None:
                delete_run(session, self._table, job)
            else:
                run_at = self.queue.clock.now() + next_run
                release(session, self._table, job, run_at=run_at, attempts=0, last_error=None)

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

    def _retry(
        self, job: JobRun, reason: str, after_seconds: float | None, *, keep_schedule: bool = False
    ) -> None:
        delay = after_seconds if after_seconds is not None else self.backoff_seconds(job.attempt)
        if job.peer is not None:
            self.peers.saw_waiting(job.peer)
        log.info(
            "job %s (%s) try %d: %s; again in %.1fs",
            job.job_id,
            job.kind,
            job.attempt,
            reason,
            delay,
        )
        with self.queue.database.transaction() as session:
            release(
                session,
                self._table,
                job,
                run_at=self.queue.clock.now() + timedelta(seconds=delay),
                last_error=reason[:300],
                # A schedule of the handler's own is not a failed try towards an
                # unreachable peer: without tries, no probe or wake shortens it.
                **({"attempts": 0} if keep_schedule else {}),
            )

    def _finish(self, job: JobRun, *, status: str, error: str) -> None:
        with self.queue.database.transaction() as session:
            release(session, self._table, job, status=status, last_error=error[:300])

    def probe_peers(self) -> int:
        """Makes the first job waiting on each peer due now; returns how many."""
        return self.peers.probe()

    def start(self) -> None:
        """Starts the worker's dispatcher and runner threads."""
        if self._threads:
            return
        self._begin()
        self._spawn(f"worker-{self.name}", self._dispatcher.loop)

    def run_forever(self) -> None:
        """Runs jobs until `stop` is called, dispatching from the calling thread."""
        self._begin()
        self._dispatcher.loop()

    def stop(self, timeout: float = 10.0) -> None:
        """Asks the worker to stop after the jobs it has claimed and waits for its threads."""
        self._stop.set()
        self.queue.wakeup.set()
        self._dispatcher.wake()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads = []
        try:
            self._settle_succeeded()
        except Exception as exc:
            # The leases run out and the jobs run again: better twice than lost.
            log.error("worker %s: succeeded jobs not settled: %s", self.name, type(exc).__name__)

    def _begin(self) -> None:
        self._stop.clear()
        self._started()
        for index in range(self.threads):
            self._spawn(f"worker-{self.name}-{index}", self._dispatcher.runner)

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _started(self) -> None:
        for hook in self.on_start:
            try:
                hook()
            except Exception as exc:
                log.error("worker %s: start hook failed: %s", self.name, type(exc).__name__)
