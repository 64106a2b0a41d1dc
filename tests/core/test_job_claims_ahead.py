"""Jobs claimed ahead of the worker's idle runners: one claim serves several jobs under a
backlog, and a job waiting in the worker keeps its lease (and loses its run once it lost it)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import update

from hallkey.core.clock import ManualClock, SystemClock
from hallkey.core.jobs import Handler, JobQueue, JobRun, Worker
from tests.conftest import DatabaseUrlFactory
from tests.core.test_job_wakeups import _claims
from tests.core.test_jobs import T0, _claimed, _pending, _queue, _row
from tests.servers import wait_for


def _never(job: JobRun) -> None:
    raise AssertionError(f"{job.job_id} ran in a second worker")


def _enqueue(queue: JobQueue, count: int, kind: str = "step") -> list[str]:
    with queue.database.transaction() as session:
        return [queue.enqueue(session, kind, {"n": n}) for n in range(count)]


def test_backlog__one_claim_takes_the_idle_runners_jobs_and_ahead_more__each_runs_once(
    database_url: DatabaseUrlFactory,
) -> None:
    queue = _queue(database_url("jobs"), SystemClock())
    job_ids = _enqueue(queue, 30)
    claims = _claims(queue)
    first_started, go_on = threading.Event(), threading.Event()
    ran: list[int] = []
    tokens: set[str] = set()
    """The claims that took jobs (the jobs of one claim share its token)."""
    lock = threading.Lock()

    def step(job: JobRun) -> None:
        first_started.set()
        assert go_on.wait(10)
        with lock:
            ran.append(int(job.payload["n"]))
            tokens.add(job.claim)

    worker = Worker(
        name="w", queue=queue, handlers={"step": step}, threads=2, ahead=3, poll_seconds=0.05
    )
    worker.start()
    try:
        assert first_started.wait(10)
        # The first claim had room for its two idle runners and three more: five jobs are
        # claimed, two run, three wait in the worker; the rest stay in the queue.
        wait_for(lambda: sum(_claimed(queue, job_id) for job_id in job_ids) == 5)
        assert len(claims) == 1
        go_on.set()
        wait_for(lambda: _pending(queue) == 0, timeout=30)
    finally:
        worker.stop()
    assert sorted(ran) == list(range(30))
    # One claim a job would be 30; each claim after the first has room for at least
    # `ahead + 1` jobs (a runner idles only once no job waits for it): 5, then 4 at least.
    assert len(tokens) <= 1 + 7, len(tokens)


def test_no_jobs_ahead__a_claim_takes_only_what_idle_runners_can_run(
    database_url: DatabaseUrlFactory,
) -> None:
    queue = _queue(database_url("jobs"), SystemClock())
    job_ids = _enqueue(queue, 6)
    started, go_on = threading.Event(), threading.Event()

    def step(job: JobRun) -> None:
        started.set()
        assert go_on.wait(10)

    worker = Worker(name="w", queue=queue, handlers={"step": step}, threads=2, poll_seconds=0.05)
    worker.start()
    try:
        assert started.wait(10)
        wait_for(lambda: sum(_claimed(queue, job_id) for job_id in job_ids) == 2)
        go_on.set()
        wait_for(lambda: _pending(queue) == 0, timeout=30)
    finally:
        worker.stop()


class _Blocking:
    """A job handler that records each run and holds it until `go_on` is set."""

    def __init__(self) -> None:
        self.started, self.go_on = threading.Event(), threading.Event()
        self.ran: list[str] = []

    def __call__(self, job: JobRun) -> None:
        self.ran.append(job.job_id)
        self.started.set()
        assert self.go_on.wait(10)


def _beating_worker(queue: JobQueue, step: Handler, **options: Any) -> Worker:
    """A worker whose heartbeat beats at once (one runner, one job ahead unless told)."""
    settings: dict[str, Any] = {"threads": 1, "ahead": 1, "heartbeat_seconds": 0.01}
    return Worker(
        name="w", queue=queue, handlers={"step": step}, poll_seconds=0.05, **(settings | options)
    )


def test_every_runner_busy__the_dispatcher_waits_instead_of_spinning(
    database_url: DatabaseUrlFactory,
) -> None:
    queue = _queue(database_url("jobs"), SystemClock())
    _enqueue(queue, 3)
    step = _Blocking()
    worker = Worker(
        name="w", queue=queue, handlers={"step": step}, threads=1, ahead=1, poll_seconds=0.05
    )
    rounds = 0
    room = worker._dispatcher.room

    def counted_room() -> int:
        nonlocal rounds
        rounds += 1
        return room()

    worker._dispatcher.room = counted_room  # type: ignore[method-assign]
    worker.start()
    try:
        assert step.started.wait(10)
        before = rounds
        # The runner is busy for longer than a poll: the dispatcher has no room and nothing
        # to settle, and looks again once a poll's time (a spinning one: thousands of times).
        threading.Event().wait(0.6)
        looked = rounds - before
        step.go_on.set()
        wait_for(lambda: _pending(queue) == 0, timeout=30)
    finally:
        step.go_on.set()
        worker.stop()
    assert looked <= 30, looked


@dataclass
class _OneWaits:
    """A worker of one runner and one job ahead: one job runs (until `go_on`), one waits."""

    worker: Worker
    running: str
    waiting: str
    go_on: threading.Event
    ran: list[str]


@contextmanager
def _one_running_one_waiting(queue: JobQueue, **options: Any) -> Iterator[_OneWaits]:
    job_ids = _enqueue(queue, 2)
    step = _Blocking()
    worker = _beating_worker(queue, step, **options)
    worker.start()
    try:
        assert step.started.wait(10)
        # Due alike: either may be claimed first.
        (running,) = step.ran
        (waiting,) = [job_id for job_id in job_ids if job_id != running]
        wait_for(lambda: _claimed(queue, waiting))
        yield _OneWaits(worker, running, waiting, step.go_on, step.ran)
    finally:
        step.go_on.set()
        worker.stop()


def test_job_waiting_for_a_runner__past_its_lease__keeps_it__runs_once(
    database_url: DatabaseUrlFactory,
) -> None:
    clock = ManualClock(T0)
    queue = _queue(database_url("jobs"), clock)
    with _one_running_one_waiting(queue, lease_seconds=30) as jobs:
        clock.advance(timedelta(seconds=31))  # past both claims' leases...
        # ... which the heartbeat renews: the one that runs and the one that waits.
        wait_for(lambda: _row(queue, jobs.running).run_at > clock.now())
        wait_for(lambda: _row(queue, jobs.waiting).run_at > clock.now())
        other = Worker(name="other", queue=queue, handlers={"step": _never}, lease_seconds=30)
        assert other.run_pending() == 0
        jobs.go_on.set()
        wait_for(lambda: _pending(queue) == 0, timeout=30)
    assert jobs.ran == [jobs.running, jobs.waiting]


def test_jobs_of_one_claim_running_side_by_side__each_keeps_its_lease(
    database_url: DatabaseUrlFactory,
) -> None:
    # The jobs of one claim share its token: the heartbeat tells them apart by their ids.
    clock = ManualClock(T0)
    queue = _queue(database_url("jobs"), clock)
    job_ids = _enqueue(queue, 2)
    together = threading.Barrier(3, timeout=10)
    go_on = threading.Event()

    def step(job: JobRun) -> None:
        together.wait()
        assert go_on.wait(10)

    worker = _beating_worker(queue, step, threads=2, ahead=0, lease_seconds=30)
    worker.start()
    try:
        together.wait()  # both run, from one claim
        assert _row(queue, job_ids[0]).locked_by == _row(queue, job_ids[1]).locked_by
        clock.advance(timedelta(seconds=31))
        for job_id in job_ids:
            wait_for(lambda job_id=job_id: _row(queue, job_id).run_at > clock.now())
        go_on.set()
        wait_for(lambda: _pending(queue) == 0, timeout=30)
    finally:
        worker.stop()


def test_job_waiting_for_a_runner__taken_over_meanwhile__is_not_run_by_this_worker(
    database_url: DatabaseUrlFactory,
) -> None:
    clock = ManualClock(T0)
    queue = _queue(database_url("jobs"), clock)
    with _one_running_one_waiting(queue) as jobs:
        row = _row(queue, jobs.waiting)
        held = JobRun(
            job_id=jobs.waiting, kind="step", payload={}, attempt=row.attempts, claim=row.locked_by
        )
        # Another worker's claim (as after a lease that ran out while this process stalled).
        with queue.database.transaction() as session:
            session.execute(
                update(queue.table)
                .where(queue.table.c.id == jobs.waiting)
                .values(locked_by="other:claim", run_at=clock.now() + timedelta(hours=1))
            )
        wait_for(lambda: not jobs.worker._leases.holds(held))  # the heartbeat saw it
        jobs.go_on.set()
        wait_for(lambda: _row(queue, jobs.running) is None)
    assert jobs.ran == [jobs.running]
    assert _row(queue, jobs.waiting).locked_by == "other:claim"  # left to the run that has it


def test_worker_stops__jobs_claimed_ahead_and_not_started__go_back_to_the_queue_at_once(
    database_url: DatabaseUrlFactory,
) -> None:
    clock = ManualClock(T0)
    queue = _queue(database_url("jobs"), clock)
    job_ids = _enqueue(queue, 3)
    step = _Blocking()
    ran, go_on = step.ran, step.go_on
    worker = Worker(
        name="w", queue=queue, handlers={"step": step}, threads=1, ahead=2, poll_seconds=0.05
    )
    worker.start()
    stopping = threading.Thread(target=worker.stop)
    try:
        assert step.started.wait(10)
        (first,) = ran
        waiting = [job_id for job_id in job_ids if job_id != first]
        wait_for(lambda: all(_claimed(queue, job_id) for job_id in waiting))
        stopping.start()
        # Given back before the running job ends: due now, unclaimed, no try spent.
        wait_for(lambda: not any(_claimed(queue, job_id) for job_id in waiting))
        for job_id in waiting:
            row = _row(queue, job_id)
            assert (row.attempts, row.run_at) == (0, clock.now())
    finally:
        go_on.set()
        if stopping.is_alive():
            stopping.join(10)
        else:
            worker.stop()
    assert ran == [first]  # the runner finished what it started, nothing more
    other = Worker(name="other", queue=queue, handlers={"step": step})
    assert other.run_pending() == 2
    assert sorted(ran[1:]) == sorted(waiting)
