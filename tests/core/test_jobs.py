"""The durable job queue on a real database: retries, leases, and no job done twice."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

from hallkey.core.clock import ManualClock, SystemClock
from hallkey.core.db import Database, make_metadata
from hallkey.core.jobs import GiveUp, JobQueue, JobRun, RetryLater, Worker, job_table
from tests.conftest import DatabaseUrlFactory

T0 = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)


def _queue(url: str, clock: ManualClock | SystemClock) -> JobQueue:
    metadata = make_metadata()
    table = job_table(metadata, "test_jobs")
    database = Database(url)
    metadata.create_all(database.engine)
    return JobQueue(database, table, clock)


def test_job_runs_only_after_commit(database_url: DatabaseUrlFactory) -> None:
    clock = ManualClock(T0)
    queue = _queue(database_url("jobs"), clock)
    seen: list[dict[str, object]] = []
    worker = Worker(name="w", queue=queue, handlers={"hello": lambda job: seen.append(job.payload)})

    try:
        with queue.database.transaction() as session:
            queue.enqueue(session, "hello", {"n": 1})
            raise RuntimeError("rolled back")
    except RuntimeError:
        pass
    assert worker.run_pending() == 0

    with queue.database.transaction() as session:
        queue.enqueue(session, "hello", {"n": 2})
    assert queue.wakeup.is_set()
    assert worker.run_pending() == 1
    assert seen == [{"n": 2}]
    with queue.database.transaction() as session:
        assert queue.pending_count(session) == 0


def test_failing_job_is_retried_with_backoff_until_it_succeeds(
    database_url: DatabaseUrlFactory,
) -> None:
    clock = ManualClock(T0)
    queue = _queue(database_url("jobs"), clock)
    attempts: list[int] = []

    def flaky(job: JobRun) -> None:
        attempts.append(job.attempt)
        if job.attempt < 3:
            raise RetryLater("peer down")

    worker = Worker(name="w", queue=queue, handlers={"flaky": flaky})
    with queue.database.transaction() as session:
        queue.enqueue(session, "flaky", {})
    assert worker.run_pending() == 1
    assert worker.run_pending() == 0  # not due yet
    clock.advance(timedelta(seconds=2))
    assert worker.run_pending() == 1
    clock.advance(timedelta(seconds=1))
    assert worker.run_pending() == 0  # the second wait is longer
    clock.advance(timedelta(seconds=4))
    assert worker.run_pending() == 1
    assert attempts == [1, 2, 3]
    with queue.database.transaction() as session:
        assert queue.pending_count(session) == 0


def test_job_that_gives_up_is_kept_dead_and_not_run_again(
    database_url: DatabaseUrlFactory,
) -> None:
    clock = ManualClock(T0)
    queue = _queue(database_url("jobs"), clock)

    def hopeless(job: JobRun) -> None:
        raise GiveUp("bad payload")

    worker = Worker(name="w", queue=queue, handlers={"hopeless": hopeless})
    with queue.database.transaction() as session:
        queue.enqueue(session, "hopeless", {})
    assert worker.run_pending() == 1
    clock.advance(timedelta(days=1))
    assert worker.run_pending() == 0


def test_job_of_a_dead_worker_is_taken_over_after_its_lease(
    database_url: DatabaseUrlFactory,
) -> None:
    clock = ManualClock(T0)
    queue = _queue(database_url("jobs"), clock)
    done: list[str] = []
    crashed = Worker(name="crashed", queue=queue, handlers={}, lease_seconds=30)
    with queue.database.transaction() as session:
        queue.enqueue(session, "work", {})
    assert crashed._claim() is not None  # claimed, then the process "died"
    survivor = Worker(name="survivor", queue=queue, handlers={"work": lambda j: done.append("x")})
    assert survivor.run_pending() == 0
    clock.advance(timedelta(seconds=31))
    assert survivor.run_pending() == 1
    assert done == ["x"]


def test_concurrent_workers_never_run_one_job_twice(database_url: DatabaseUrlFactory) -> None:
    queue = _queue(database_url("jobs"), SystemClock())
    runs: Counter[int] = Counter()
    lock = threading.Lock()

    def count(job: JobRun) -> None:
        with lock:
            runs[int(job.payload["n"])] += 1

    with queue.database.transaction() as session:
        for n in range(60):
            queue.enqueue(session, "count", {"n": n})
    workers = [Worker(name=f"w{i}", queue=queue, handlers={"count": count}) for i in range(4)]
    threads = [threading.Thread(target=w.run_pending) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(runs) == list(range(60))
    assert set(runs.values()) == {1}


def test_recurring_job__ensured_by_every_start__is_one_row_that_is_rescheduled_not_copied(
    database_url: DatabaseUrlFactory,
) -> None:
    clock = ManualClock(T0)
    queue = _queue(database_url("jobs"), clock)
    runs: list[datetime] = []

    def sweep(job: JobRun) -> timedelta:
        runs.append(clock.now())
        return timedelta(hours=1)

    for _ in range(3):  # three processes start
        with queue.database.transaction() as session:
            queue.enqueue_once(session, "job_sweep", "sweep")
    worker = Worker(name="w", queue=queue, handlers={"sweep": sweep}, lease_seconds=30)
    assert worker.run_pending() == 1
    assert worker.run_pending() == 0
    clock.advance(timedelta(minutes=59))
    assert worker.run_pending() == 0

    # A worker dies holding the job: after its lease the job runs once, and stays one row.
    clock.advance(timedelta(minutes=1))
    crashed = Worker(name="crashed", queue=queue, handlers={}, lease_seconds=30)
    assert crashed._claim() is not None
    clock.advance(timedelta(seconds=31))
    assert worker.run_pending() == 1
    with queue.database.transaction() as session:
        queue.enqueue_once(session, "job_sweep", "sweep")
        rows = session.execute(queue.table.select()).all()
    assert [(row.id, row.status, row.attempts) for row in rows] == [("job_sweep", "pending", 0)]
    assert rows[0].run_at == T0 + timedelta(hours=2, seconds=31)
    assert runs == [T0, T0 + timedelta(hours=1, seconds=31)]


def test_run_that_outlived_its_lease__leaves_the_job_to_the_worker_that_took_it_over(
    database_url: DatabaseUrlFactory,
) -> None:
    clock = ManualClock(T0)
    queue = _queue(database_url("jobs"), clock)
    with queue.database.transaction() as session:
        queue.enqueue(session, "slow", {})
    slow = Worker(name="slow", queue=queue, handlers={}, lease_seconds=30)
    first = slow._claim()
    assert first is not None
    clock.advance(timedelta(seconds=31))  # the slow run is still going...
    second = Worker(name="second", queue=queue, handlers={}, lease_seconds=30)._claim()
    assert second is not None and second.attempt == 2
    slow._done(first, None)  # ... and ends now: it must not delete the row the second holds
    slow._retry(first, "late", None)
    with queue.database.transaction() as session:
        row = session.execute(queue.table.select()).one()
    assert (row.attempts, row.locked_by) == (2, second.claim)
    Worker(name="second", queue=queue, handlers={})._done(second, None)
    with queue.database.transaction() as session:
        assert queue.pending_count(session) == 0


def test_job_of_an_unknown_kind__waits_for_a_worker_that_knows_it(
    database_url: DatabaseUrlFactory,
) -> None:
    clock = ManualClock(T0)
    queue = _queue(database_url("jobs"), clock)
    with queue.database.transaction() as session:
        queue.enqueue(session, "newer_kind", {})
    assert Worker(name="old", queue=queue, handlers={}).run_pending() == 1
    clock.advance(timedelta(minutes=2))
    done: list[str] = []
    newer = Worker(name="new", queue=queue, handlers={"newer_kind": lambda j: done.append("x")})
    assert newer.run_pending() == 1
    assert done == ["x"]


def test_enqueue_once__brings_a_dead_recurring_job_back(database_url: DatabaseUrlFactory) -> None:
    clock = ManualClock(T0)
    queue = _queue(database_url("jobs"), clock)

    def broken(job: JobRun) -> None:
        raise GiveUp("broken")

    with queue.database.transaction() as session:
        queue.enqueue_once(session, "job_sweep", "sweep")
    assert Worker(name="w", queue=queue, handlers={"sweep": broken}).run_pending() == 1
    with queue.database.transaction() as session:
        assert queue.pending_count(session) == 0  # dead
        queue.enqueue_once(session, "job_sweep", "sweep")  # the next start
    swept: list[int] = []
    fixed = Worker(name="w", queue=queue, handlers={"sweep": lambda j: swept.append(j.attempt)})
    assert fixed.run_pending() == 1
    assert swept == [1]


def test_enqueue_once_rearm__while_the_job_runs__makes_it_run_once_more(
    database_url: DatabaseUrlFactory,
) -> None:
    clock = ManualClock(T0)
    queue = _queue(database_url("jobs"), clock)
    seen: list[int] = []
    inbox = [1]

    def push(job: JobRun) -> None:
        taken = list(inbox)  # read the input...
        if len(seen) == 0:
            inbox.append(2)  # ... while new input is committed and the push re-armed
            with queue.database.transaction() as session:
                queue.enqueue_once(session, "job_push", "push", rearm=True)
        seen.extend(x for x in taken if x not in seen)

    with queue.database.transaction() as session:
        queue.enqueue_once(session, "job_push", "push", rearm=True)
    worker = Worker(name="w", queue=queue, handlers={"push": push})
    assert worker.run_pending() == 2
    assert seen == [1, 2]
    with queue.database.transaction() as session:
        assert queue.pending_count(session) == 0
