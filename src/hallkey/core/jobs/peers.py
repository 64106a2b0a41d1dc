"""A worker's watch on the peers its jobs wait for: a peer that answers again need not leave
its other jobs sitting out their backoff."""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy.orm import Session

from hallkey.core.jobs.queue import JobQueue

log = logging.getLogger("hallkey.core.jobs")


class PeerWatch:
    """The peers a worker saw jobs waiting on (its own retries, its probes), and its probes:
    every `probe_seconds` the first job waiting on each peer is made due, so a recovery is
    noticed even when no job of this worker reached the peer."""

    def __init__(self, queue: JobQueue, probe_seconds: float) -> None:
        self.queue = queue
        self.probe_seconds = probe_seconds
        self._waiting: set[str] = set()
        self._waiting_lock = threading.Lock()
        self._last_probe: float | None = None
        self._probe_lock = threading.Lock()

    def saw_waiting(self, peer: str) -> None:
        """Notes that a job of this worker waits on `peer` (a retry towards it)."""
        with self._waiting_lock:
            self._waiting.add(peer)

    def waits(self, peer: str) -> bool:
        """Tells whether jobs were last seen waiting on `peer`: only then does its success
        need to wake them."""
        with self._waiting_lock:
            return peer in self._waiting

    def wake(self, session: Session, peer: str) -> None:
        """The peer answered: what waits on it need not sit out its backoff. (In the outcome's
        transaction, one write fewer per job, but in a savepoint of its own: a failure here
        must not undo the job's outcome; the probe makes up for it.)

        Only for a peer this worker saw jobs waiting on: a healthy peer's every success would
        otherwise pay a savepoint and an update that finds nothing. Jobs another process left
        waiting are seen by this worker's next probe (every `probe_seconds`).
        """
        try:
            with session.begin_nested():
                woken = self.queue.wake_peer(session, peer)
        except Exception as exc:
            log.warning("jobs of peer %s not woken: %s", peer, type(exc).__name__)
            return
        if not woken:
            with self._waiting_lock:
                self._waiting.discard(peer)

    def probe(self) -> int:
        """Makes the first job waiting on each peer due now; returns how many."""
        seen: set[str] = set()
        with self.queue.database.transaction() as session:
            probed = self.queue.probe_peers(session, seen)
        with self._waiting_lock:
            self._waiting.update(seen)
        return probed

    def maybe_probe(self) -> None:
        """Probes the peers at most once every `probe_seconds` (of real time: a test's manual
        clock may stand still, and a recovery must still be noticed)."""
        with self._probe_lock:
            now = time.monotonic()
            if self._last_probe is not None and now - self._last_probe < self.probe_seconds:
                return
            self._last_probe = now
        self.probe()
