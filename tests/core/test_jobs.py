"""The durable job queue on a real database: retries, leases, and no job done twice."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, select

from hallkey.core.clock import ManualClock, SystemClock
from hallkey.core.db import Database, make_metadata
from hallkey.core.jobs import GiveUp, JobQueue, JobRun, RetryLater, Worker, job_table
from hallkey.core.jobs.claims import delete_succeeded
from hallkey.core.settings import Settings
from tests.conftest import DatabaseUrlFactory
from tests.servers import wait_for

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


def _row(queue: JobQueue, job_id: str) -> Any:
    with queue.database.transaction() as session:
        return session.execute(queue.table.select().where(queue.table.c.id == job_id)).first()


def test_rearm_while_running__a_second_worker_runs_it__the_first_run_leaves_its_row_alone(
    database_url: DatabaseUrlFactory,
) -> None:
    clock = ManualClock(T0)
    queue = _queue(database_url("jobs"), clock)
    started = [threading.Event(), threading.Event()]
    release = [threading.Event(), threading.Event()]
    runs: list[str] = []

    def push(job: JobRun) -> None:
        n = len(runs)
        runs.append(job.claim)
        started[n].set()
        assert release[n].wait(10)

    def rearm() -> None:
        with queue.database.transaction() as session:
            queue.enqueue_once(session, "job_push", "push", rearm=True)

    rearm()
    a = Worker(name="a", queue=queue, handlers={"push": push})
    b = Worker(name="b", queue=queue, handlers={"push": push})
    run_a = threading.Thread(target=a.run_once)
    run_a.start()
    assert started[0].wait(10)
    rearm()  # new input while A runs: the job must run once more
    run_b = threading.Thread(target=b.run_once)
    run_b.start()
    assert started[1].wait(10)  # B claimed the re-armed job and runs it

    release[0].set()
    run_a.join()  # A ends: B's run still holds the row
    row = _row(queue, "job_push")
    assert row is not None and row.locked_by == runs[1] and row.locked_by.startswith("b:")

    release[1].set()
    run_b.join()  # B's end settles it
    assert _row(queue, "job_push") is None


def test_long_job__running_past_its_lease__keeps_it_while_its_worker_lives(
    database_url: DatabaseUrlFactory,
) -> None:
    clock = ManualClock(T0)
    queue = _queue(database_url("jobs"), clock)
    started, release = threading.Event(), threading.Event()
    runs: list[int] = []

    def slow(job: JobRun) -> None:
        runs.append(job.attempt)
        started.set()
        assert release.wait(10)

    with queue.database.transaction() as session:
        job_id = queue.enqueue(session, "slow", {})
    live = Worker(
        name="live", queue=queue, handlers={"slow": slow}, lease_seconds=30, heartbeat_seconds=0.01
    )
    running = threading.Thread(target=live.run_once)
    running.start()
    assert started.wait(10)
    clock.advance(timedelta(seconds=31))  # past the lease it claimed...
    wait_for(lambda: _row(queue, job_id).run_at > clock.now())  # ... which its heartbeat renews

    other = Worker(name="other", queue=queue, handlers={"slow": slow}, lease_seconds=30)
    assert other.run_pending() == 0
    release.set()
    running.join()
    assert runs == [1]
    assert _row(queue, job_id) is None


def test_dead_worker__with_the_default_lease__its_job_is_taken_over_within_fifteen_seconds(
    database_url: DatabaseUrlFactory,
) -> None:
    clock = ManualClock(T0)
    queue = _queue(database_url("jobs"), clock)
    lease = Settings(secret_key="x").job_lease_seconds
    with queue.database.transaction() as session:
        queue.enqueue(session, "work", {})
    killed = Worker(name="killed", queue=queue, handlers={}, lease_seconds=lease)
    assert killed._claim() is not None  # claimed, then the process was killed
    done: list[int] = []
    survivor = Worker(
        name="survivor", queue=queue, handlers={"work": lambda j: done.append(j.attempt)}
    )
    clock.advance(timedelta(seconds=15))
    assert survivor.run_pending() == 1
    assert done == [2]


def _peer_handlers(up: set[str], ran: list[str]) -> dict[str, Any]:
    def call(job: JobRun) -> None:
        if job.peer not in up:
            raise RetryLater("peer unreachable", after_seconds=3600)
        ran.append(str(job.payload["n"]))

    return {"call": call}


def _three_calls_to_site_a(queue: JobQueue) -> None:
    with queue.database.transaction() as session:
        for n in range(3):
            queue.enqueue(session, "call", {"n": f"a{n}"}, peer="site:a")


def test_peer_answers_again__its_waiting_jobs_run_at_once__other_peers_keep_waiting(
    database_url: DatabaseUrlFactory,
) -> None:
    queue = _queue(database_url("jobs"), ManualClock(T0))
    up: set[str] = set()
    ran: list[str] = []
    worker = Worker(name="w", queue=queue, handlers=_peer_handlers(up, ran))
    _three_calls_to_site_a(queue)
    with queue.database.transaction() as session:
        queue.enqueue(session, "call", {"n": "b0"}, peer="site:b")
    assert worker.run_pending() == 4  # all fail: an hour to wait
    assert ran == []

    up.update({"site:a", "site:b"})
    with queue.database.transaction() as session:
        queue.enqueue(session, "call", {"n": "a-new"}, peer="site:a")
    assert worker.run_pending() == 4  # the new one gets through and wakes its peer's others
    assert sorted(ran) == ["a-new", "a0", "a1", "a2"]
    with queue.database.transaction() as session:
        assert queue.pending_count(session) == 1  # site:b's still sits out its backoff


def test_peer_answers_again__jobs_another_worker_left_waiting__woken_after_a_probe(
    database_url: DatabaseUrlFactory,
) -> None:
    queue = _queue(database_url("jobs"), ManualClock(T0))
    up: set[str] = set()
    ran: list[str] = []
    failing = Worker(name="a", queue=queue, handlers=_peer_handlers(up, ran))
    _three_calls_to_site_a(queue)
    assert failing.run_pending() == 3  # all fail: an hour to wait

    up.add("site:a")
    other = Worker(name="b", queue=queue, handlers=_peer_handlers(up, ran))
    with queue.database.transaction() as session:
        queue.enqueue(session, "call", {"n": "a-new"}, peer="site:a")
    # A healthy peer's success costs no wake: this worker never saw the peer's jobs wait.
    assert other.run_pending() == 1
    assert ran == ["a-new"]
    # Its probe sees them: the probed job gets through and wakes the rest.
    assert other.probe_peers() == 1
    assert other.run_pending() == 3
    assert sorted(ran) == ["a-new", "a0", "a1", "a2"]


def test_wake_peer__makes_waiting_jobs_due__never_a_running_one(
    database_url: DatabaseUrlFactory,
) -> None:
    clock = ManualClock(T0)
    queue = _queue(database_url("jobs"), clock)
    ran: list[str] = []
    worker = Worker(name="w", queue=queue, handlers=_peer_handlers(set(), ran), lease_seconds=30)
    with queue.database.transaction() as session:
        waiting = queue.enqueue(session, "call", {"n": "1"}, peer="hub")
        later = T0 + timedelta(minutes=1)
        running = queue.enqueue(session, "call", {"n": "2"}, peer="hub", run_at=later)
    assert worker.run_pending() == 1  # the first fails: it waits an hour
    clock.advance(timedelta(minutes=1))
    assert worker._claim() is not None  # the second is running now (lease 30 s)
    with queue.database.transaction() as session:
        assert queue.wake_peer(session, "hub") == 1
    assert _row(queue, waiting).run_at == clock.now()
    assert _row(queue, running).run_at == clock.now() + timedelta(seconds=30)


def test_due_jobs__run_by_priority_then_due_time(database_url: DatabaseUrlFactory) -> None:
    clock = ManualClock(T0)
    queue = _queue(database_url("jobs"), clock)
    order: list[str] = []
    worker = Worker(name="w", queue=queue, handlers={"x": lambda j: order.append(j.payload["n"])})
    with queue.database.transaction() as session:
        queue.enqueue(session, "x", {"n": "program-1"}, run_at=T0 - timedelta(minutes=2))
        queue.enqueue(session, "x", {"n": "program-2"}, run_at=T0 - timedelta(minutes=1))
        queue.enqueue(session, "x", {"n": "revoke"}, priority=10)
    assert worker.run_pending() == 3
    assert order == ["revoke", "program-1", "program-2"]


def test_probe__makes_the_most_urgent_waiting_job_of_each_peer_due(
    database_url: DatabaseUrlFactory,
) -> None:
    clock = ManualClock(T0)
    queue = _queue(database_url("jobs"), clock)
    ran: list[str] = []
    worker = Worker(name="w", queue=queue, handlers=_peer_handlers(set(), ran))
    with queue.database.transaction() as session:
        queue.enqueue(session, "call", {"n": "a-program"}, peer="site:a")
        queue.enqueue(session, "call", {"n": "a-revoke"}, peer="site:a", priority=10)
        queue.enqueue(session, "call", {"n": "b"}, peer="site:b")
        queue.enqueue(session, "call", {"n": "no-peer"})
    assert worker.run_pending() == 4
    assert worker.probe_peers() == 2
    with queue.database.transaction() as session:
        due = session.execute(
            select(queue.table.c.payload).where(queue.table.c.run_at <= clock.now())
        ).all()
    assert sorted(row.payload["n"] for row in due) == ["a-revoke", "b"]


def test_worker_thread__peer_back_after_a_long_backoff__its_jobs_run_within_a_probe(
    database_url: DatabaseUrlFactory,
) -> None:
    clock = ManualClock(T0)  # stands still: only the probe can bring the jobs back
    queue = _queue(database_url("jobs"), clock)
    up: set[str] = set()
    ran: list[str] = []
    worker = Worker(
        name="w",
        queue=queue,
        handlers=_peer_handlers(up, ran),
        poll_seconds=0.02,
        probe_seconds=0.05,
    )
    with queue.database.transaction() as session:
        for n in range(3):
            queue.enqueue(session, "call", {"n": str(n)}, peer="hub")
    assert worker.run_pending() == 3  # all wait an hour now
    up.add("hub")
    worker.start()
    try:
        wait_for(lambda: sorted(ran) == ["0", "1", "2"])
    finally:
        worker.stop()
    with queue.database.transaction() as session:
        assert queue.pending_count(session) == 0


def test_rearm_while_running__the_old_runs_heartbeat__never_delays_the_new_run(
    database_url: DatabaseUrlFactory,
) -> None:
    clock = ManualClock(T0)
    queue = _queue(database_url("jobs"), clock)
    started, release = threading.Event(), threading.Event()
    beats: list[bool] = []

    def push(job: JobRun) -> None:
        started.set()
        assert release.wait(10)

    class Recording(Worker):
        def _renew(self, job: JobRun) -> bool:
            beats.append(super()._renew(job))
            return beats[-1]

    with queue.database.transaction() as session:
        queue.enqueue_once(session, "job_push", "push")
    worker = Recording(
        name="a", queue=queue, handlers={"push": push}, lease_seconds=30, heartbeat_seconds=0.01
    )
    running = threading.Thread(target=worker.run_once)
    running.start()
    assert started.wait(10)
    clock.advance(timedelta(seconds=5))
    with queue.database.transaction() as session:
        queue.enqueue_once(session, "job_push", "push", rearm=True)
    wait_for(lambda: False in beats)  # a beat after the re-arm found the claim gone...
    row = _row(queue, "job_push")
    assert (row.run_at, row.locked_by) == (clock.now(), None)  # ... and left the row due now
    release.set()
    running.join()
    assert _row(queue, "job_push").run_at == clock.now()


def test_peer_refused_for_now__slow_schedule__neither_probe_nor_wake_brings_it_forward(
    database_url: DatabaseUrlFactory,
) -> None:
    clock = ManualClock(T0)
    queue = _queue(database_url("jobs"), clock)
    tries: list[str] = []

    def refused(job: JobRun) -> None:
        # The peer answers, but refuses (a full door): trying again soon cannot help.
        tries.append(str(job.payload["n"]))
        raise RetryLater("no_space_on_door", after_seconds=900, keep_schedule=True)

    worker = Worker(
        name="w",
        queue=queue,
        handlers={"refused": refused, "ok": lambda job: None},
    )
    with queue.database.transaction() as session:
        slow = queue.enqueue(session, "refused", {"n": "full-door"}, peer="site:a")
    assert worker.run_pending() == 1
    assert worker.probe_peers() == 0  # a probe would re-run the doomed call every 2 s
    with queue.database.transaction() as session:
        queue.enqueue(session, "ok", {}, peer="site:a")
    assert worker.run_pending() == 1  # the peer's success wakes its waiting jobs, not this one
    assert tries == ["full-door"]
    assert _row(queue, slow).run_at == T0 + timedelta(seconds=900)

    clock.advance(timedelta(seconds=900))
    assert worker.run_pending() == 1  # on its own schedule it is tried again
    assert tries == ["full-door", "full-door"]


def test_worker_threads__jobs_that_wait__run_side_by_side_each_once(
    database_url: DatabaseUrlFactory,
) -> None:
    # Each job waits until four run at once: a worker that ran them one by one never gets
    # past the first four (the barrier breaks and the jobs fail).
    queue = _queue(database_url("jobs"), SystemClock())
    together = threading.Barrier(4, timeout=10)
    runs: Counter[int] = Counter()
    lock = threading.Lock()

    def meet(job: JobRun) -> None:
        together.wait()
        with lock:
            runs[int(job.payload["n"])] += 1

    with queue.database.transaction() as session:
        for n in range(40):
            queue.enqueue(session, "meet", {"n": n})
    # Two workers of four threads, as two processes would be: claims are batched per worker.
    workers = [
        Worker(name=f"w{i}", queue=queue, handlers={"meet": meet}, threads=4, poll_seconds=0.05)
        for i in range(2)
    ]
    for worker in workers:
        worker.start()
    try:
        wait_for(lambda: sum(runs.values()) >= 40, timeout=60)
    finally:
        for worker in workers:
            worker.stop()
    assert sorted(runs) == list(range(40))
    assert set(runs.values()) == {1}
    assert not together.broken
    with queue.database.transaction() as session:
        assert queue.pending_count(session) == 0


def _count_transactions(queue: JobQueue) -> list[int]:
    """Counts the transactions the worker's threads begin on the queue's database from now
    on (not the test's own)."""
    begun = [0]

    def on_begin(connection: object) -> None:
        if threading.current_thread().name.startswith("worker-"):
            begun[0] += 1

    event.listen(queue.database.engine, "begin", on_begin)
    return begun


def test_worker_thread__a_success_is_settled_with_the_next_claim__one_transaction_a_job(
    database_url: DatabaseUrlFactory,
) -> None:
    queue = _queue(database_url("jobs"), SystemClock())
    ran: list[int] = []
    with queue.database.transaction() as session:
        for n in range(20):
            queue.enqueue(session, "step", {"n": n})
    begun = _count_transactions(queue)
    worker = Worker(
        name="w", queue=queue, handlers={"step": lambda job: ran.append(job.payload["n"])}
    )
    worker.start()
    try:
        # Every row goes while the worker runs (not only at stop): each success is deleted
        # in the transaction of the claim after it.
        wait_for(lambda: _pending(queue) == 0, timeout=30)
    finally:
        worker.stop()
    assert sorted(ran) == list(range(20))
    # A claim and a settle of their own would be 40 (plus the probes and idle polls).
    assert begun[0] <= 20 + 3, begun[0]


def test_worker_thread__jobs_one_at_a_time__each_success_rides_on_the_next_jobs_claim(
    database_url: DatabaseUrlFactory,
) -> None:
    """A worker that keeps up claims when a job is queued, not again at each success: the
    success waits for that claim (or the poll) to delete its row."""
    queue = _queue(database_url("jobs"), SystemClock())
    done = threading.Semaphore(0)
    worker = Worker(
        name="w",
        queue=queue,
        handlers={"step": lambda job: done.release()},
        poll_seconds=30,  # no poll during the test: only the queued jobs set off claims
        probe_seconds=3600,
        threads=2,  # a claim that finds one job leaves a runner idle: no more were due
    )
    worker.start()
    try:
        time.sleep(0.3)  # the first claim (it found nothing) is behind us
        begun = _count_transactions(queue)
        first = _enqueue_step(queue, 0)
        assert done.acquire(timeout=10)
        time.sleep(0.2)
        assert _claimed(queue, first)  # succeeded; its row waits for the next claim
        for n in range(1, 10):
            _enqueue_step(queue, n)
            assert done.acquire(timeout=10)
        wait_for(lambda: not _claimed(queue, first), timeout=10)
        # One claim a job (each deleting the row of the job before); a claim at each
        # success as well would be 20.
        assert begun[0] <= 10 + 1, begun[0]
    finally:
        worker.stop()
    assert _pending(queue) == 0  # the last success is settled at the stop


def test_worker_thread__a_success_with_no_job_after_it__is_settled_by_the_poll(
    database_url: DatabaseUrlFactory,
) -> None:
    queue = _queue(database_url("jobs"), SystemClock())
    done = threading.Event()
    worker = Worker(
        name="w", queue=queue, handlers={"step": lambda job: done.set()}, poll_seconds=0.2
    )
    worker.start()
    try:
        _enqueue_step(queue, 0)
        assert done.wait(10)
        wait_for(lambda: _pending(queue) == 0, timeout=5)
    finally:
        worker.stop()


def test_worker_thread__long_poll__a_success_is_settled_within_its_lease__runs_once(
    database_url: DatabaseUrlFactory,
) -> None:
    """A success waits for a claim at most a heartbeat's time, whatever the poll: a row left
    claimed past its lease would be taken, and the job run, again."""
    queue = _queue(database_url("jobs"), SystemClock())
    runs: list[int] = []
    worker = Worker(
        name="w",
        queue=queue,
        handlers={"step": lambda job: runs.append(job.attempt)},
        poll_seconds=60,
        lease_seconds=0.9,
        threads=2,
    )
    worker.start()
    try:
        _enqueue_step(queue, 0)
        wait_for(lambda: _pending(queue) == 0, timeout=5)  # not the poll's 60 s
        time.sleep(1.2)  # past the lease
    finally:
        worker.stop()
    assert runs == [1]


def _enqueue_step(queue: JobQueue, n: int) -> str:
    with queue.database.transaction() as session:
        return queue.enqueue(session, "step", {"n": n})


def _claimed(queue: JobQueue, job_id: str) -> bool:
    with queue.database.transaction() as session:
        row = session.execute(
            select(queue.table.c.locked_by).where(queue.table.c.id == job_id)
        ).first()
    return row is not None and row.locked_by is not None


def _pending(queue: JobQueue) -> int:
    with queue.database.transaction() as session:
        return queue.pending_count(session)


def test_worker_thread__rearmed_while_running__the_settle_leaves_the_new_row__it_runs_again(
    database_url: DatabaseUrlFactory,
) -> None:
    queue = _queue(database_url("jobs"), SystemClock())
    runs: list[int] = []

    def push(job: JobRun) -> None:
        runs.append(job.attempt)
        if len(runs) == 1:
            with queue.database.transaction() as session:
                queue.enqueue_once(session, "job_push", "push", rearm=True)

    with queue.database.transaction() as session:
        queue.enqueue_once(session, "job_push", "push", rearm=True)
    worker = Worker(name="w", queue=queue, handlers={"push": push}, poll_seconds=0.05)
    worker.start()
    try:
        wait_for(lambda: len(runs) == 2 and _pending(queue) == 0, timeout=30)
    finally:
        worker.stop()
    assert len(runs) == 2


def test_worker_stop__a_job_that_ends_after_the_last_claim__is_settled_all_the_same(
    database_url: DatabaseUrlFactory,
) -> None:
    queue = _queue(database_url("jobs"), SystemClock())
    started, go = threading.Event(), threading.Event()

    def slow(job: JobRun) -> None:
        started.set()
        go.wait(10)

    with queue.database.transaction() as session:
        queue.enqueue(session, "slow", {})
    worker = Worker(name="w", queue=queue, handlers={"slow": slow}, poll_seconds=0.05)
    worker.start()
    assert started.wait(10)
    stopping = threading.Thread(target=worker.stop)
    stopping.start()
    time.sleep(0.2)  # the dispatcher has ended: no claim follows this job's success
    go.set()
    stopping.join(15)
    assert _pending(queue) == 0


def test_delete_succeeded__runs_of_several_claims__each_row_only_with_its_own_claim(
    database_url: DatabaseUrlFactory,
) -> None:
    """The settle of several claims is one statement, and it matches (id, claim) pairs: a row
    re-claimed by a later claim stays, even when the list holds a run of that later claim."""
    queue = _queue(database_url("jobs"), ManualClock(T0))
    with queue.database.transaction() as session:
        ids = [queue.enqueue(session, "step", {"n": n}) for n in range(3)]
        for job_id, token in zip(ids, ("t1", "t2", "t2"), strict=True):
            session.execute(
                queue.table.update().where(queue.table.c.id == job_id).values(locked_by=token)
            )
    runs = [
        JobRun(job_id=ids[0], kind="step", payload={}, attempt=1, claim="t1"),
        JobRun(job_id=ids[1], kind="step", payload={}, attempt=1, claim="t2"),
        # An older run of the third job, whose row a later claim (t2) holds now.
        JobRun(job_id=ids[2], kind="step", payload={}, attempt=1, claim="t1"),
    ]
    with queue.database.transaction() as session:
        delete_succeeded(session, queue.table, runs)
    with queue.database.transaction() as session:
        left = session.execute(select(queue.table.c.id, queue.table.c.locked_by)).all()
    assert [tuple(row) for row in left] == [(ids[2], "t2")]
