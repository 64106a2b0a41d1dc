"""Keeping a claimed job's lease: one heartbeat thread renews the lease of every job a worker
holds (waiting for a runner or running), so a live run keeps its job however long it takes and
a dead worker's is taken over."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from hallkey.core.jobs.runs import JobRun

log = logging.getLogger("hallkey.core.jobs")


def _key(job: JobRun) -> tuple[str, str]:
    # The jobs of one claim share its token: a run is its job's id and its claim together.
    return job.job_id, job.claim


class LeaseKeeper:
    """Renews, every `heartbeat_seconds`, the lease of each job held from `hold` to `let_go`
    (or inside `kept`).

    One thread serves every held job of the worker (a thread per job cost more than many
    small jobs themselves); it ends when no job is held. `renew(job)` moves the job's lease
    ahead while the run's claim holds the row, and tells whether it did: once it did not
    (re-armed or taken over), the row is another run's and is left alone (`holds` says so).
    """

    def __init__(self, name: str, heartbeat_seconds: float, renew: Callable[[JobRun], bool]):
        self.name = name
        self.heartbeat_seconds = heartbeat_seconds
        self._renew = renew
        self._held: dict[tuple[str, str], JobRun] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def hold(self, job: JobRun) -> None:
        """Keeps the job's lease renewed from now on (again, if it is held already)."""
        with self._lock:
            self._held[_key(job)] = job
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._beat, name=f"lease-{self.name}", daemon=True
                )
                self._thread.start()

    def let_go(self, job: JobRun) -> None:
        """Stops renewing the job's lease (its run ended)."""
        with self._lock:
            self._held.pop(_key(job), None)

    def holds(self, job: JobRun) -> bool:
        """Tells whether the job's lease is still kept: not once a renewal found its row
        re-armed or taken over by another run."""
        with self._lock:
            return _key(job) in self._held

    @contextmanager
    def kept(self, job: JobRun) -> Iterator[None]:
        """Keeps the job's lease renewed while the block runs."""
        self.hold(job)
        try:
            yield
        finally:
            self.let_go(job)

    def _beat(self) -> None:
        while True:
            time.sleep(self.heartbeat_seconds)
            with self._lock:
                held = list(self._held.values())
                if not held:
                    self._thread = None
                    return
            for job in held:
                if not self.holds(job):
                    continue  # it ended meanwhile: its row is settled or another's
                try:
                    if not self._renew(job):
                        # Re-armed or taken over: the row is another run's now.
                        self.let_go(job)
                except Exception as exc:
                    log.warning("job %s: lease not renewed: %s", job.job_id, type(exc).__name__)
