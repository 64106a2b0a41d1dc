"""Jobs queued where the worker has a runner free run there without a claim (`handoff`), and
only once committed; a job whose runner never came is taken over after its lease."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from sqlalchemy import event, select

from hallkey.core.clock import SystemClock
from hallkey.core.jobs import JobQueue, JobRun, Worker
from hallkey.core.jobs.handoff import Reservation
from tests.conftest import DatabaseUrlFactory
from tests.core.test_jobs import _pending, _queue
from tests.servers import wait_for


def _claims(queue: JobQueue) -> list[str]:
    """Records the claim statements run on the queue's database from now on."""
    seen: list[str] = []

    def on_execute(_c: object, _cur: object, statement: str, *_: object) -> None:
        folded = " ".join(statement.split())
        if folded.startswith("UPDATE") and "locked_by" in folded and "IN (SELECT" in folded:
            seen.append(folded)

    event.listen(queue.database.engine, "before_cursor_execute", on_execute)
    return seen


def _started(queue: JobQueue, ran: list[JobRun], **options: float) -> Worker:
    """Starts a worker whose `step` jobs record their run, once its first claim (which finds
    nothing) is behind it; with no poll during a test unless asked."""
    worker = Worker(
        name="w",
        queue=queue,
        handlers={"step": ran.append},
        poll_seconds=options.get("poll_seconds", 30),
        lease_seconds=options.get("lease_seconds", 3),
        probe_seconds=3600,
        threads=int(options.get("threads", 2)),
    )
    worker.start()
    time.sleep(0.3)
    return worker


def test_job_queued_where_a_runner_is_free__runs_there_without_a_claim(
    database_url: DatabaseUrlFactory,
) -> None:
    queue = _queue(database_url("jobs"), SystemClock())
    ran: list[JobRun] = []
    worker = _started(queue, ran)
    claims = _claims(queue)
    try:
        for n in range(5):
            with queue.database.transaction() as session:
                queue.enqueue(session, "step", {"n": n})
            wait_for(lambda n=n: len(ran) == n + 1, timeout=5)
        assert claims == []  # each ran without one
        assert not queue.wakeup.is_set()  # nothing for the dispatcher to claim
        # The successes are settled together within a heartbeat (a third of the lease).
        wait_for(lambda: _pending(queue) == 0, timeout=5)
    finally:
        worker.stop()
    assert [run.payload for run in ran] == [{"n": n} for n in range(5)]
    assert all(run.attempt == 1 and run.claim for run in ran)
    assert len(claims) <= 1


def test_job_handed_over__runs_only_once_its_transaction_commits__a_rollback_frees_the_runner(
    database_url: DatabaseUrlFactory,
) -> None:
    queue = _queue(database_url("jobs"), SystemClock())
    ran: list[JobRun] = []
    worker = _started(queue, ran, threads=1)
    try:
        committed = threading.Event()
        with queue.database.transaction() as session:
            queue.enqueue(session, "step", {"n": 1})
            time.sleep(0.3)
            assert ran == []  # not before the commit
            committed.set()
        wait_for(lambda: len(ran) == 1, timeout=5)
        for _ in range(3):  # rolled back: nothing runs, and the one runner is free again
            try:
                with queue.database.transaction() as session:
                    queue.enqueue(session, "step", {"n": 2})
                    raise RuntimeError("rolled back")
            except RuntimeError:
                pass
        with queue.database.transaction() as session:
            queue.enqueue(session, "step", {"n": 3})
        wait_for(lambda: len(ran) == 2, timeout=5)
        wait_for(lambda: _pending(queue) == 0, timeout=5)
    finally:
        worker.stop()
    assert [run.payload["n"] for run in ran] == [1, 3]


def test_job_queued_in_a_savepoint__is_claimed_as_ever__and_not_run_if_the_savepoint_is_undone(
    database_url: DatabaseUrlFactory,
) -> None:
    queue = _queue(database_url("jobs"), SystemClock())
    ran: list[JobRun] = []
    worker = _started(queue, ran, poll_seconds=0.2)
    claims = _claims(queue)
    try:
        with queue.database.transaction() as session:
            try:
                with session.begin_nested():
                    queue.enqueue(session, "step", {"n": "undone"})
                    raise RuntimeError("savepoint rolled back")
            except RuntimeError:
                pass
            with session.begin_nested():
                queue.enqueue(session, "step", {"n": "kept"})
        wait_for(lambda: len(ran) == 1, timeout=5)
        time.sleep(0.5)
    finally:
        worker.stop()
    assert [run.payload for run in ran] == [{"n": "kept"}]
    assert claims  # the kept job was claimed from the table


def test_job_for_later__is_neither_handed_over_nor_wakes_the_worker(
    database_url: DatabaseUrlFactory,
) -> None:
    clock = SystemClock()
    queue = _queue(database_url("jobs"), clock)
    ran: list[JobRun] = []
    worker = _started(queue, ran, poll_seconds=0.2)
    try:
        with queue.database.transaction() as session:
            queue.enqueue(session, "step", {"n": 1}, run_at=clock.now() + timedelta(seconds=0.6))
        assert not queue.wakeup.is_set()
        time.sleep(0.3)
        assert ran == []
        wait_for(lambda: len(ran) == 1, timeout=5)  # found by a poll once due
    finally:
        worker.stop()


def test_worker_not_started__jobs_are_queued_unclaimed(database_url: DatabaseUrlFactory) -> None:
    queue = _queue(database_url("jobs"), SystemClock())
    ran: list[JobRun] = []
    worker = Worker(name="w", queue=queue, handlers={"step": ran.append})
    with queue.database.transaction() as session:
        job_id = queue.enqueue(session, "step", {"n": 1})
    with queue.database.transaction() as session:
        row = session.execute(select(queue.table).where(queue.table.c.id == job_id)).one()
    assert row.locked_by is None and row.attempts == 0
    assert queue.wakeup.is_set()
    assert worker.run_pending() == 1


class _DiesBeforeTheRun:
    """A taker that sets a runner aside and never runs the job: a process that died between
    the commit and the run."""

    def __init__(self, lease_seconds: float) -> None:
        self.lease_seconds = lease_seconds

    def reserve(self) -> Reservation | None:
        until = SystemClock().now() + timedelta(seconds=self.lease_seconds)
        return Reservation("gone:000000000000", until)

    def take(self, runs: list[JobRun]) -> None:
        pass

    def give_back(self, count: int) -> None:
        pass


def test_job_handed_to_a_process_that_died__is_taken_over_after_its_lease(
    database_url: DatabaseUrlFactory,
) -> None:
    queue = _queue(database_url("jobs"), SystemClock())
    queue.taker = _DiesBeforeTheRun(lease_seconds=0.5)
    with queue.database.transaction() as session:
        queue.enqueue(session, "step", {"n": 1})
    ran: list[JobRun] = []
    other = Worker(name="other", queue=queue, handlers={"step": ran.append})
    assert other.run_pending() == 0  # claimed by the dead process, within its lease
    time.sleep(0.6)
    assert other.run_pending() == 1
    assert [(run.payload, run.attempt) for run in ran] == [({"n": 1}, 2)]


def test_reserve__while_due_jobs_wait_in_the_table__leaves_one_runner_to_the_dispatcher(
    database_url: DatabaseUrlFactory,
) -> None:
    queue = _queue(database_url("jobs"), SystemClock())
    worker = Worker(name="w", queue=queue, handlers={}, threads=3)
    # As the dispatcher leaves them: its last claim filled every idle runner (due jobs wait
    # in the table), and its next poll is a while off.
    worker._drained = False
    worker._next_poll = time.monotonic() + 60
    assert worker.reserve() and worker.reserve()
    assert worker.reserve() is None  # the third runner is the dispatcher's
    worker._drained = True  # its next claim found the table empty
    assert worker.reserve()
    assert worker.reserve() is None  # every runner taken
    worker.give_back(3)
    worker._next_poll = time.monotonic()  # the poll's claim is due: it goes first
    assert worker.reserve() is None
