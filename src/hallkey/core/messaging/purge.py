"""How often a sender's retention purge runs when it goes with the sends themselves."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta


class PurgeGate:
    """Lets a purge through at most once per `every` on the caller's clock.

    A purge walks the whole outbox folder; run after every send it made each send cost in
    proportion to every message kept (a quarter of the pipeline's sampled time after a few
    hundred bookings; 1.2 s of CPU a send at 150,000 files, a week of 50,000 bookings). Copies
    past retention now stay at most `every` longer. The gate is per process
    (a second process purges on its own gate; purging twice is harmless). A clock that went
    back (a test's) opens the gate again.
    """

    def __init__(self, every: timedelta) -> None:
        self.every = every
        self._last: datetime | None = None
        self._lock = threading.Lock()

    def due(self, now: datetime) -> bool:
        """Returns whether to purge now, and if so counts this as the last purge."""
        with self._lock:
            last = self._last
            if last is not None and last <= now < last + self.every:
                return False
            self._last = now
            return True
