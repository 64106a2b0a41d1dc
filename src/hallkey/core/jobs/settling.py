"""Succeeded runs waiting for their rows to be deleted by a claim the worker makes anyway.

A plain success (the row is to go, no peer to wake) is not worth a transaction of its own:
the dispatcher deletes the rows of the runs gathered here in the transaction of its next
claim. When the worker keeps up with its queue that claim is the one a new job sets off (or
the next poll), not one made at once for the settle: a claim at every success found nothing
to claim and cost a write transaction a job (the booking context's claims at 30 bookings a
second: 3.2 transactions a booking before, 1.2 since).
"""

from __future__ import annotations

import threading
import time

from hallkey.core.jobs.runs import JobRun

MOST_WAITING = 200
"""Settled at once when this many wait: one statement stays small."""


class SucceededRuns:
    """The succeeded runs whose rows a claim is still to delete (shared by a worker's runners
    and its dispatcher). Each waits at most `wait_seconds` (the worker's poll, at most its
    heartbeat: well within the row's lease), or less once `MOST_WAITING` runs wait; until then
    its row stays claimed by the run (its lease no longer renewed): a crash in between lets the
    lease run out and the job run again, as a crash just before any settle does."""

    def __init__(self, wait_seconds: float) -> None:
        self.wait_seconds = wait_seconds
        self._runs: list[JobRun] = []
        self._oldest: float | None = None
        """When the oldest waiting run was added (monotonic seconds)."""
        self._not_before = 0.0
        """After a failed settle: no new try before then (a database that is down is not
        asked again and again)."""
        self._lock = threading.Lock()

    def add(self, run: JobRun) -> None:
        """Adds a run that succeeded."""
        with self._lock:
            if not self._runs:
                self._oldest = time.monotonic()
            self._runs.append(run)

    def take(self) -> list[JobRun]:
        """Returns the waiting runs and forgets them (the caller deletes their rows)."""
        with self._lock:
            runs, self._runs, self._oldest = self._runs, [], None
            self._not_before = 0.0
            return runs

    def put_back(self, runs: list[JobRun]) -> None:
        """Keeps runs whose settle failed for the next claim (or the worker's stop)."""
        if not runs:
            return
        with self._lock:
            now = time.monotonic()
            self._runs[:0] = runs
            self._oldest = now if self._oldest is None else self._oldest
            self._not_before = now + self.wait_seconds

    def due_at(self) -> float:
        """Returns when the waiting runs must be settled, even without a claim (monotonic
        seconds; infinity while none waits)."""
        with self._lock:
            if self._oldest is None:
                return float("inf")
            wait = 0.0 if len(self._runs) >= MOST_WAITING else self.wait_seconds
            return max(self._oldest + wait, self._not_before)
