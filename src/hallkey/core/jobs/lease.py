"""Keeping a running job's lease: one heartbeat thread renews the lease of every job a worker
runs, so a live run keeps its job however long it takes and a dead worker's is taken over."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from hallkey.core.jobs.runs import JobRun

log = logging.getLogger("hallkey.core.jobs")


class LeaseKeeper:
    """Renews, every `heartbeat_seconds`, the lease of each job that runs inside `kept`.

    One thread serves every running job of the worker (a thread per job cost more than many
    small jobs themselves); it ends when no job runs. `renew(job)` moves the job's lease ahead
    while the run's claim holds the row, and tells whether it did: once it did not (re-armed
    or taken over), the row is another run's and is left alone.
    """

    def __init__(self, name: str, heartbeat_seconds: float, renew: Callable[[JobRun], bool]):
        self.name = name
        self.heartbeat_seconds = heartbeat_seconds
        self._renew = renew
        self._running: dict[str, JobRun] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @contextmanager
    def kept(self, job: JobRun) -> Iterator[None]:
        """Keeps the job's lease renewed while the block runs."""
        with self._lock:
            self._running[job.claim] = job
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._beat, name=f"lease-{self.name}", daemon=True
                )
                self._thread.start()
        try:
            yield
        finally:
            with self._lock:
                self._running.pop(job.claim, None)

    def _beat(self) -> None:
        while True:
            time.sleep(self.heartbeat_seconds)
            with self._lock:
                running = list(self._running.values())
                if not running:
                    self._thread = None
                    return
            for job in running:
                with self._lock:
                    if job.claim not in self._running:
                        continue  # it ended meanwhile: its row is settled or another's
                try:
                    if not self._renew(job):
                        # Re-armed or taken over: the row is another run's now.
                        with self._lock:
                            self._running.pop(job.claim, None)
                except Exception as exc:
                    log.warning("job %s: lease not renewed: %s", job.job_id, type(exc).__name__)
