"""What wakes a running worker's dispatcher: a job due now, not one due later (its claim
would find nothing; the poll finds it once it is due)."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import event

from hallkey.core.clock import SystemClock
from hallkey.core.jobs import JobQueue, JobRun, Worker
from tests.conftest import DatabaseUrlFactory
from tests.core.test_jobs import _queue
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


def test_job_for_later__does_not_wake_the_worker__its_poll_runs_it_once_due(
    database_url: DatabaseUrlFactory,
) -> None:
    clock = SystemClock()
    queue = _queue(database_url("jobs"), clock)
    ran: list[JobRun] = []
    worker = Worker(
        name="w", queue=queue, handlers={"step": ran.append}, poll_seconds=0.5, threads=2
    )
    worker.start()
    try:
        time.sleep(0.3)  # the first claim (it found nothing) is behind us
        claims = _claims(queue)
        with queue.database.transaction() as session:
            queue.enqueue(session, "step", {"n": 1}, run_at=clock.now() + timedelta(seconds=1))
            queue.enqueue_once(session, "job_later", "step", {"n": 2}, run_at=clock.now())
        assert queue.wakeup.is_set()  # the job due now woke it
        wait_for(lambda: len(ran) == 1, timeout=5)
        woken = len(claims)
        with queue.database.transaction() as session:
            queue.enqueue(session, "step", {"n": 3}, run_at=clock.now() + timedelta(seconds=1))
        assert not queue.wakeup.is_set()
        wait_for(lambda: len(ran) == 3, timeout=5)  # found by polls once due
        assert len(claims) - woken <= 2 * 2 / 0.5 + 1  # the polls' claims only
    finally:
        worker.stop()
    assert sorted(run.payload["n"] for run in ran) == [1, 2, 3]
