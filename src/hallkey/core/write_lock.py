"""A first-come, first-served write lock for one SQLite database within one process.

SQLite lets one writer in at a time. A connection that finds the lock taken sleeps in SQLite's
busy handler (1, 2, 5, 10 … 100 ms) and tries again; whoever asks at the moment the lock is
free gets it. Under a steady stream of short writes from the API, the job runners (which sleep
longer as they wait longer) lost nearly every round: the pipeline behind the bookings starved.
Within a process, writers now queue here, in arrival order, before they ask SQLite.

Between processes (`hallkey serve --workers N`, a `hallkey worker` beside the server, a set-up
command), the thread whose turn it is then takes an exclusive `flock` on a file beside the
database (`<database>.writelock`): the kernel puts it to sleep until the other process's
writer lets go and wakes it at once, where SQLite's busy handler would poll and lose rounds.
The kernel drops the flock of a process that dies, so a crash never leaves it held. The two
waits together last at most the writer's time limit: a process that hangs in the middle of a
write (stopped, or stuck on a full disk) makes the others answer "busy" (503) after it, as
SQLite's busy handler would, instead of hanging with it. SQLite's own lock and busy handler
stay underneath, for any writer that does not take the file.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import threading
import time
from collections import deque
from contextvars import ContextVar
from pathlib import Path

from prometheus_client import Histogram, Summary

log = logging.getLogger(__name__)

_LOCK_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)
WRITE_LOCK_WAIT = Histogram(
    "hallkey_db_write_lock_wait_seconds",
    "How long a SQLite write transaction waited for its turn (this process's, then the others')",
    ["database"],
    buckets=_LOCK_BUCKETS,
)
WRITE_LOCK_HELD = Histogram(
    "hallkey_db_write_lock_held_seconds",
    "How long a SQLite write transaction held the turn (its BEGIN to its end)",
    ["database"],
    buckets=_LOCK_BUCKETS,
)


WRITE_LOCK_HELD_BY_UNIT = Summary(
    "hallkey_db_write_lock_held_by_unit_seconds",
    "How long SQLite write transactions held the turn, by the unit of work that held it "
    "(a request's route, a job's kind, a claim)",
    ["database", "unit"],
)

UNIT_OF_WORK: ContextVar[object] = ContextVar("hallkey_unit_of_work", default="other")
"""What the current thread works on, for `WRITE_LOCK_HELD_BY_UNIT`: its `str()` is read when
a hold ends (a request's route is known only once it has been matched)."""


class FairLock:
    """A lock handed to its waiters in the order they asked (not reentrant); with
    `file`, whoever holds it also holds an exclusive flock on that file (between processes)."""

    def __init__(self, file: Path | None = None, name: str = "memory") -> None:
        self._name = name  # the database's, as on the metrics of its statements
        self._taken_at = 0.0
        self._mutex = threading.Lock()
        self._held = False
        self._waiters: deque[threading.Lock] = deque()
        self._file_lock = FileLock(file) if file is not None else None

    def acquire(self, timeout: float) -> bool:
        """Waits at most `timeout` seconds in all for this process's turn, then for the other
        processes' writers; tells whether the lock was taken."""
        asked_at = time.perf_counter()
        if not self._take_turn(timeout):
            return False
        try:
            left = max(0.0, timeout - (time.perf_counter() - asked_at))
            locked = self._file_lock is None or self._file_lock.acquire(left)
        except BaseException:
            self._pass_turn()
            raise
        if not locked:
            self._pass_turn()
            return False
        self._taken_at = time.perf_counter()  # only the holder writes it
        WRITE_LOCK_WAIT.labels(self._name).observe(self._taken_at - asked_at)
        return True

    def _take_turn(self, timeout: float) -> bool:
        with self._mutex:
            if not self._held and not self._waiters:
                self._held = True
                return True
            turn = threading.Lock()
            turn.acquire()
            self._waiters.append(turn)
        if turn.acquire(timeout=timeout):
            return True  # handed over by `release`
        with self._mutex:
            try:
                self._waiters.remove(turn)
            except ValueError:
                return True  # handed over between the timeout and here: it is ours
            return False

    def release(self) -> None:
        """Lets the other processes' writers in, then hands this process's turn to its
        longest waiter, or frees it."""
        held = time.perf_counter() - self._taken_at
        WRITE_LOCK_HELD.labels(self._name).observe(held)
        WRITE_LOCK_HELD_BY_UNIT.labels(self._name, str(UNIT_OF_WORK.get())).observe(held)
        if self._file_lock is not None:
            self._file_lock.release()
        self._pass_turn()

    def _pass_turn(self) -> None:
        with self._mutex:
            if self._waiters:
                self._waiters.popleft().release()  # `_held` stays true: the next one has it
            else:
                self._held = False

    @property
    def waiting(self) -> int:
        """How many threads wait for the lock (for metrics and tests)."""
        with self._mutex:
            return len(self._waiters)


class FileLock:
    """An exclusive `flock` on a file, waited for at most a given time (used by one thread at a
    time: the holder of a `FairLock`'s turn).

    `flock` itself waits without a limit. So a free lock is taken at once, without waiting;
    a wait is done by a helper thread on a descriptor of its own (a lock of another open file
    is a rival, as another process's), and the caller stops waiting after its time. A lock
    the helper gets after that goes to the next caller waiting by then, or is let go at once.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._own: int | None = None
        """The descriptor locked without waiting (opened at first use, kept for the process)."""
        self._helpers: int | None = None
        """The helper's descriptor, locked with a wait."""
        self._held: int | None = None
        self._state = threading.Condition()
        self._wanted = False
        """A caller waits for the helper's lock (cleared by the helper's grant or the
        caller's timeout, whichever comes first)."""
        self._granted = False
        self._helper: threading.Thread | None = None

    def acquire(self, timeout: float) -> bool:
        """Takes the lock within `timeout` seconds; tells whether it did."""
        if self._own is None:
            self._own = self._open()
        try:
            fcntl.flock(self._own, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return self._wait(timeout)
        self._held = self._own
        return True

    def release(self) -> None:
        """Lets go of the lock, if held."""
        if self._held is not None:
            fcntl.flock(self._held, fcntl.LOCK_UN)
            self._held = None

    def _open(self) -> int:
        return os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)

    def _wait(self, timeout: float) -> bool:
        with self._state:
            if self._helpers is None:
                self._helpers = self._open()
            if self._helper is None:
                self._helper = threading.Thread(
                    target=self._wait_in_helper, name=f"flock-{self._path.name}", daemon=True
                )
                self._helper.start()
            self._wanted, self._granted = True, False
            self._state.notify_all()
            if self._state.wait_for(lambda: self._granted, timeout):
                self._granted = False
                self._held = self._helpers
                return True
            self._wanted = False  # the helper lets go of what it gets later
            return False

    def _wait_in_helper(self) -> None:
        descriptor = self._helpers
        assert descriptor is not None
        while True:
            with self._state:
                self._state.wait_for(lambda: self._wanted)
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX)
            except OSError as exc:
                # The caller waiting now times out (a busy database); the next wait starts
                # another helper.
                log.error("waiting for %s failed: %s", self._path.name, type(exc).__name__)
                with self._state:
                    self._helper = None
                return
            with self._state:
                if self._wanted:
                    self._wanted, self._granted = False, True
                    self._state.notify_all()
                else:
                    fcntl.flock(descriptor, fcntl.LOCK_UN)  # its caller gave up


class QueuedWriterConnection(sqlite3.Connection):
    """A driver connection that takes its database's `FairLock` for each write transaction.

    `begin_write` is called just before `BEGIN IMMEDIATE`; the lock is given back when the
    transaction ends, however it ends (commit, rollback, a failed begin, or the connection
    closing), so it is never held past SQLite's own lock.
    """

    write_lock: FairLock | None = None
    lock_timeout: float = 30.0
    _holds_write_lock: bool = False

    def begin_write(self) -> None:
        """Waits for this process's turn to write; raises SQLite's own "locked" error after
        `lock_timeout` (the caller maps it to 503 like any busy database)."""
        if self.write_lock is None or self._holds_write_lock:
            return
        if not self.write_lock.acquire(self.lock_timeout):
            raise sqlite3.OperationalError("database is locked (waited for this process's turn)")
        self._holds_write_lock = True

    def end_write(self) -> None:
        """Gives the lock back if this connection holds it."""
        if self._holds_write_lock:
            self._holds_write_lock = False
            assert self.write_lock is not None
            self.write_lock.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            if self.in_transaction is False:
                self.end_write()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.end_write()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.end_write()

    def __del__(self) -> None:  # a connection dropped without closing frees its turn
        self.end_write()


_LOCKS: dict[str, FairLock] = {}
_LOCKS_MUTEX = threading.Lock()


def write_lock_for(path: str) -> FairLock:
    """The one write lock of the database file at `path` in this process (shared with the
    other processes through `<path>.writelock`)."""
    key = os.path.realpath(path)
    with _LOCKS_MUTEX:
        if key not in _LOCKS:
            # Named as core.db names the database in its counters: the file's stem.
            _LOCKS[key] = FairLock(file=Path(f"{key}.writelock"), name=Path(key).stem)
        return _LOCKS[key]
