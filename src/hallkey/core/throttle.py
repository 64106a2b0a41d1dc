"""Throttles on what can be guessed or abused: a sliding window of hits per key.

A `Throttle` allows `limit` hits per key within `per_seconds`; the next hit raises
`TooManyRequests` with the seconds until one becomes free (`Retry-After`). Keys are whatever
the caller counts by: an API key id, a client id and ref, a source address, a door.

The counts live in the memory of one process: with several web processes behind a balancer
each process allows the limit on its own. That bounds abuse (N processes allow N times the
limit) without a shared store; the lock-outs that must hold across processes (the keypad's)
are kept in the database by their context instead.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

from hallkey.core.clock import Clock
from hallkey.core.errors import TooManyRequests

_MAX_KEYS = 100_000
"""Most keys remembered at once; the least recently hit are forgotten beyond it (memory bound
against a flood of made-up keys)."""


@dataclass(frozen=True)
class Rate:
    """`limit` hits per `per_seconds`."""

    limit: int
    per_seconds: float


class Throttle:
    """Counts hits per key in a sliding window and refuses those over the rate."""

    def __init__(self, name: str, rate: Rate, clock: Clock) -> None:
        if rate.limit < 1 or rate.per_seconds <= 0:
            raise ValueError("a rate needs a limit of at least 1 and a positive period")
        self.name = name
        self.rate = rate
        self.clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _now(self) -> float:
        return self.clock.now().timestamp()

    def _recent(self, key: str, now: float) -> deque[float]:
        hits = self._hits.pop(key, None)
        if hits is None:
            hits = deque()
        while hits and hits[0] <= now - self.rate.per_seconds:
            hits.popleft()
        self._hits[key] = hits  # re-inserted last: dict order is least recently hit first
        if len(self._hits) > _MAX_KEYS:
            del self._hits[next(iter(self._hits))]
        return hits

    def retry_after(self, key: str) -> float | None:
        """Returns the seconds until `key` may be hit again, or None when it may be now."""
        with self._lock:
            now = self._now()
            hits = self._recent(key, now)
            if len(hits) < self.rate.limit:
                return None
            return hits[0] + self.rate.per_seconds - now

    def check(self, key: str, message: str = "too many requests; try again later") -> None:
        """Raises TooManyRequests if `key` is over its rate, without counting a hit."""
        wait = self.retry_after(key)
        if wait is not None:
            raise TooManyRequests(message, retry_after=wait)

    def hit(self, key: str, message: str = "too many requests; try again later") -> None:
        """Counts one hit of `key`; raises TooManyRequests (not counting it) when over the rate."""
        with self._lock:
            now = self._now()
            hits = self._recent(key, now)
            if len(hits) >= self.rate.limit:
                raise TooManyRequests(message, retry_after=hits[0] + self.rate.per_seconds - now)
            hits.append(now)

    def reset(self, key: str | None = None) -> None:
        """Forgets the hits of `key` (of every key when None)."""
        with self._lock:
            if key is None:
                self._hits.clear()
            else:
                self._hits.pop(key, None)
