"""A worker's dispatcher: one thread claims due jobs for the worker's runner threads.

When a runner is idle the dispatcher claims, in one transaction, as many jobs as runners are
idle and `ahead` more, and settles the succeeded runs in the same transaction. The jobs claimed
ahead wait in the inbox, their leases kept, for the next runner that finishes. Only this
thread waits for new jobs (no herd of claims on each one); while every runner is busy it waits
for one to finish, a poll's time at most (succeeded runs still get settled in time).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from queue import Empty, SimpleQueue

from hallkey.core.jobs.claims import give_back
from hallkey.core.jobs.lease import LeaseKeeper
from hallkey.core.jobs.peers import PeerWatch
from hallkey.core.jobs.queue import JobQueue
from hallkey.core.jobs.runs import JobRun
from hallkey.core.jobs.settling import SucceededRuns

log = logging.getLogger("hallkey.core.jobs")


@dataclass(eq=False)
class Dispatcher:
    """Hands the jobs it claims to `threads` runners; `loop` and `runner` are thread bodies."""

    name: str
    queue: JobQueue
    threads: int
    ahead: int
    poll_seconds: float
    leases: LeaseKeeper
    peers: PeerWatch
    succeeded: SucceededRuns
    stopping: threading.Event
    claim: Callable[[int, Sequence[JobRun]], list[JobRun]]
    """Settles the given succeeded runs and claims up to N due jobs, in one transaction."""
    run: Callable[[JobRun], None]
    """Runs one claimed job and settles its outcome (a plain success by a later claim)."""
    settle_succeeded: Callable[[], None]
    """Settles the succeeded runs in a transaction of their own (once no claim follows)."""
    _inbox: SimpleQueue[JobRun | None] = field(default_factory=SimpleQueue, init=False)
    _held: int = field(default=0, init=False)
    """Jobs claimed and not yet finished: running, or waiting in `_inbox` for a runner."""
    _held_lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _slot_free: threading.Event = field(default_factory=threading.Event, init=False)

    def loop(self) -> None:
        """Claims and hands out jobs until `stopping` is set, then gives back the jobs no
        runner took and tells each runner to end."""
        drained = False
        """The last claim found fewer due jobs than it had room for."""
        next_poll = time.monotonic()
        while not self.stopping.is_set():
            room = self.room()
            now = time.monotonic()
            may_be_due = not drained or self.queue.wakeup.is_set() or now >= next_poll
            if (room and may_be_due) or now >= self.succeeded.due_at():
                jobs = self._claim_and_settle(room)
                if room:
                    drained = len(jobs) < room
                    next_poll = now + self.poll_seconds
                if jobs:
                    with self._held_lock:
                        self._held += len(jobs)
                    for job in jobs:
                        self.leases.hold(job)  # while it waits for a runner, too
                        self._inbox.put(job)
                    continue
            # A success added while this thread waits is not announced: it looks again within
            # a success's longest wait. Without room no poll is due (a past `next_poll` would
            # make the wait none and this thread spin while every runner is busy).
            until = min(next_poll, self.succeeded.due_at()) if room else self.succeeded.due_at()
            longest = min(self.poll_seconds, self.succeeded.wait_seconds)
            timeout = min(longest, max(0.0, until - time.monotonic()))
            if room:
                self.queue.wakeup.wait(timeout)
            else:
                self._slot_free.wait(timeout)
                self._slot_free.clear()
        self._give_back_waiting()
        for _ in range(self.threads):
            self._inbox.put(None)  # after the claimed jobs: each runner ends on one

    def wake(self) -> None:
        """Ends a wait for a free runner at once (to see `stopping`)."""
        self._slot_free.set()

    def room(self) -> int:
        """Returns how many jobs the next claim may take: none while every runner has a job
        (running or waiting for it), else the idle runners' and `ahead` more."""
        with self._held_lock:
            held = self._held
        if held >= self.threads:
            return 0
        return self.threads + self.ahead - held

    def _claim_and_settle(self, room: int) -> list[JobRun]:
        """Settles the succeeded runs and claims up to `room` jobs, in one transaction."""
        if room:
            # Before the claim: a job queued from here on wakes the dispatcher again.
            self.queue.wakeup.clear()
        settle = self.succeeded.take()
        try:
            if room:
                self.peers.maybe_probe()
            return self.claim(room, settle)
        except Exception as exc:
            log.error("worker %s could not claim a job: %s", self.name, type(exc).__name__)
            self.succeeded.put_back(settle)  # settled with a later claim, or at stop
            return []

    def _give_back_waiting(self) -> None:
        """Gives the jobs claimed ahead that no runner took yet back to the queue (the runners
        finish only what they started)."""
        waiting: list[JobRun] = []
        while True:
            try:
                job = self._inbox.get_nowait()
            except Empty:
                break
            if job is not None:
                waiting.append(job)
        if not waiting:
            return
        for job in waiting:
            self.leases.let_go(job)
        with self._held_lock:
            self._held -= len(waiting)
        try:
            with self.queue.database.transaction() as session:
                give_back(session, self.queue.table, waiting, self.queue.clock.now())
        except Exception as exc:
            # Their leases run out and another worker takes them then.
            log.error("worker %s: claimed jobs not given back: %s", self.name, type(exc).__name__)

    def runner(self) -> None:
        """Runs the jobs the dispatcher hands out until it says to stop."""
        while (job := self._inbox.get()) is not None:
            try:
                if not self.leases.holds(job):
                    # Its lease was found taken over while it waited: another run has it.
                    continue
                self.run(job)
                if self.stopping.is_set():  # the dispatcher may have made its last claim
                    self.settle_succeeded()
            except Exception as exc:
                # Settling failed (the database went away): the lease runs out and the job
                # is claimed again.
                log.error(
                    "worker %s: job %s not settled: %s", self.name, job.job_id, type(exc).__name__
                )
            finally:
                self.leases.let_go(job)
                with self._held_lock:
                    self._held -= 1
                self._slot_free.set()
