"""Writers of one process take their turns at a SQLite database in the order they asked."""

from __future__ import annotations

import fcntl
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Protocol

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from hallkey.core.clock import SystemClock
from hallkey.core.db import Database, make_metadata
from hallkey.core.errors import is_transient_database_error
from hallkey.core.jobs import JobQueue, JobRun, Worker, job_table
from hallkey.core.web import MetricsMiddleware
from hallkey.core.write_lock import FairLock, FileLock, write_lock_for


def _wait_until(condition: object, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.001)


def test_fair_lock__waiters_get_it_in_the_order_they_asked() -> None:
    lock = FairLock()
    assert lock.acquire(1)
    order: list[int] = []

    def take(number: int) -> None:
        assert lock.acquire(5)
        order.append(number)
        lock.release()

    threads = []
    for number in range(5):
        thread = threading.Thread(target=take, args=(number,))
        thread.start()
        _wait_until(lambda n=number: lock.waiting == n + 1)
        threads.append(thread)
    lock.release()
    for thread in threads:
        thread.join(5)
    assert order == [0, 1, 2, 3, 4]
    assert lock.acquire(0)  # free again


def test_fair_lock__a_waiter_that_gives_up_leaves_the_queue() -> None:
    lock = FairLock()
    assert lock.acquire(1)
    assert not lock.acquire(0.01)
    assert lock.waiting == 0
    lock.release()
    assert lock.acquire(0)


def test_write_lock__one_lock_per_database_file(tmp_path: Path) -> None:
    assert write_lock_for(str(tmp_path / "a.db")) is write_lock_for(str(tmp_path / "." / "a.db"))
    assert write_lock_for(str(tmp_path / "a.db")) is not write_lock_for(str(tmp_path / "b.db"))


@pytest.fixture()
def database(tmp_path: Path) -> Database:
    db = Database(f"sqlite:///{tmp_path / 'w.db'}")
    with db.transaction() as session:
        session.execute(text("CREATE TABLE t (n INTEGER)"))
    return db


def test_sqlite_writers__queue_behind_an_open_write_and_go_in_order(database: Database) -> None:
    lock = write_lock_for(database.engine.url.database or "")
    order: list[int] = []
    holding = threading.Event()
    finish = threading.Event()

    def first() -> None:
        with database.transaction() as session:
            session.execute(text("INSERT INTO t VALUES (0)"))
            holding.set()
            finish.wait(5)
        order.append(0)

    def writer(number: int) -> None:
        with database.transaction() as session:
            session.execute(text(f"INSERT INTO t VALUES ({number})"))
        order.append(number)

    holder = threading.Thread(target=first)
    holder.start()
    holding.wait(5)
    others = []
    for number in (1, 2, 3):
        thread = threading.Thread(target=writer, args=(number,))
        thread.start()
        _wait_until(lambda n=number: lock.waiting == n)
        others.append(thread)
    with database.read() as session:  # a reader neither waits nor queues
        assert session.execute(text("SELECT count(*) FROM t")).scalar_one() == 0
    finish.set()
    for thread in [holder, *others]:
        thread.join(5)
    assert order == [0, 1, 2, 3]
    with database.read() as session:
        rows = session.execute(text("SELECT n FROM t ORDER BY rowid")).scalars().all()
    assert rows == [0, 1, 2, 3]
    database.dispose()


def _lock_seconds(kind: str, database: str) -> float:
    name = f"hallkey_db_write_lock_{kind}_seconds_sum"
    return REGISTRY.get_sample_value(name, {"database": database}) or 0.0


def test_write_lock__waits_and_holds_are_measured_for_metrics(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'timed.db'}")
    waited, held = _lock_seconds("wait", "timed"), _lock_seconds("held", "timed")
    holding = threading.Event()

    def holder() -> None:
        with database.transaction() as session:
            session.execute(text("CREATE TABLE t (n INTEGER)"))
            holding.set()
            time.sleep(0.2)

    thread = threading.Thread(target=holder)
    thread.start()
    holding.wait(5)
    with database.transaction() as session:  # waits for the holder's turn to end
        session.execute(text("INSERT INTO t VALUES (1)"))
    thread.join(5)
    assert _lock_seconds("wait", "timed") - waited >= 0.1
    assert _lock_seconds("held", "timed") - held >= 0.2
    database.dispose()


def test_sqlite_writers__a_failed_transaction_gives_its_turn_back(database: Database) -> None:
    with pytest.raises(ZeroDivisionError), database.transaction() as session:
        session.execute(text("INSERT INTO t VALUES (1)"))
        _ = 1 / 0
    with database.transaction() as session:  # would wait 30 s if the turn were still held
        session.execute(text("INSERT INTO t VALUES (2)"))
    with database.read() as session:
        assert session.execute(text("SELECT n FROM t")).scalars().all() == [2]
    assert write_lock_for(database.engine.url.database or "").acquire(0)
    write_lock_for(database.engine.url.database or "").release()
    database.dispose()


def test_sqlite_writers__waiting_too_long_is_a_busy_database(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    lock = write_lock_for(database.engine.url.database or "")
    assert lock.acquire(0)  # another writer of this process holds the turn
    try:
        monkeypatch.setattr("hallkey.core.db.SQLITE_BUSY_SECONDS", 0.05)
        database.dispose()  # new connections take the short wait
        started = time.monotonic()
        with pytest.raises(OperationalError) as raised, database.transaction() as session:
            session.execute(text("INSERT INTO t VALUES (1)"))
        assert is_transient_database_error(raised.value)
        assert time.monotonic() - started < 5
    finally:
        lock.release()
    database.dispose()


_HOLD_IN_ANOTHER_PROCESS = """
import sys, time
from hallkey.core.write_lock import write_lock_for
lock = write_lock_for(sys.argv[1])
assert lock.acquire(5)
print("held", flush=True)
time.sleep(60)
"""

_WRITE_IN_ANOTHER_PROCESS = """
import sys
from sqlalchemy import text
from hallkey.core.db import Database
database = Database(f"sqlite:///{sys.argv[1]}")
print("ready", flush=True)
with database.transaction() as session:
    session.execute(text("INSERT INTO t VALUES (7)"))
print("written", flush=True)
"""


def _python(code: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, text=True)


def _line_within(process: subprocess.Popen[str], seconds: float) -> str | None:
    """The process's next output line, or None if none came within `seconds`."""
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], seconds)
    return process.stdout.readline().strip() if ready else None


class _Lock(Protocol):
    def acquire(self, timeout: float) -> bool: ...
    def release(self) -> None: ...


def _taken_once_the_holder_dies(lock: _Lock, holder: subprocess.Popen[str]) -> bool:
    """Waits for `lock` in a thread while `holder` holds it, then kills the holder; tells
    whether the waiting writer got the lock then (and not before)."""
    taken = threading.Event()

    def take() -> None:
        if lock.acquire(30):
            taken.set()
            lock.release()

    waiter = threading.Thread(target=take, daemon=True)
    waiter.start()
    assert not taken.wait(0.3)  # the other process holds it
    holder.send_signal(signal.SIGKILL)
    got = taken.wait(10)
    waiter.join(5)
    return got


def test_write_lock__another_process_writes_only_after_this_one_lets_go(
    database: Database,
) -> None:
    path = database.engine.url.database or ""
    lock = write_lock_for(path)
    assert lock.acquire(1)  # this process's writer holds the turn (not yet SQLite's lock)
    writer = _python(_WRITE_IN_ANOTHER_PROCESS, path)
    try:
        assert _line_within(writer, 30) == "ready"
        assert _line_within(writer, 0.5) is None  # it waits for the lock file
        with database.read() as session:
            assert session.execute(text("SELECT count(*) FROM t")).scalar_one() == 0
    finally:
        lock.release()
    assert _line_within(writer, 10) == "written"
    assert writer.wait(10) == 0
    with database.read() as session:
        assert session.execute(text("SELECT n FROM t")).scalars().all() == [7]
    database.dispose()


def test_write_lock__a_process_that_dies_holding_it_lets_the_others_in(tmp_path: Path) -> None:
    path = str(tmp_path / "held.db")
    holder = _python(_HOLD_IN_ANOTHER_PROCESS, path)
    try:
        assert _line_within(holder, 30) == "held"
        lock = write_lock_for(path)
        # The kernel drops the lock of a process that dies.
        assert _taken_once_the_holder_dies(lock, holder)
    finally:
        holder.kill()
        holder.wait(10)


def test_write_lock__a_lock_file_that_cannot_be_opened_gives_the_turn_back(
    tmp_path: Path,
) -> None:
    lock = FairLock(file=tmp_path)  # a folder: opening it for writing fails
    with pytest.raises(IsADirectoryError):
        lock.acquire(1)
    assert lock.waiting == 0
    # Had the turn stayed taken, this would answer False (no wait); it reaches the file again.
    with pytest.raises(IsADirectoryError):
        lock.acquire(0)


def test_write_lock__another_process_hangs_holding_it__this_one_gives_up_in_time(
    tmp_path: Path,
) -> None:
    """A process stopped in the middle of a write must not stop this one's writers for good:
    the wait for its lock file ends with the writer's time limit, and the turn is given back."""
    path = str(tmp_path / "hung.db")
    holder = _python(_HOLD_IN_ANOTHER_PROCESS, path)
    try:
        assert _line_within(holder, 30) == "held"
        lock = write_lock_for(path)
        started = time.monotonic()
        assert not lock.acquire(0.3)
        assert 0.25 < time.monotonic() - started < 3
        assert lock.waiting == 0
        assert not lock.acquire(0)  # the turn was given back: it asks the file again
        # A later writer still waiting when the holder lets go gets the lock.
        assert _taken_once_the_holder_dies(lock, holder)
    finally:
        holder.kill()
        holder.wait(10)


def test_write_lock__a_wait_given_up__the_lock_got_later_is_let_go(tmp_path: Path) -> None:
    path = tmp_path / "given-up.db"
    holder = _python(_HOLD_IN_ANOTHER_PROCESS, str(path))
    try:
        assert _line_within(holder, 30) == "held"
        mine = FileLock(Path(f"{path}.writelock"))
        assert not mine.acquire(0.2)  # its helper still waits on the file
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        time.sleep(0.3)  # the helper got the lock meanwhile, for no one
        other = FileLock(Path(f"{path}.writelock"))  # a rival, as another process is
        assert other.acquire(5)
        other.release()
    finally:
        holder.kill()
        holder.wait(10)


def test_sqlite_writers__another_process_hangs_holding_the_lock__a_busy_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "hung-writer.db"
    monkeypatch.setattr("hallkey.core.db.SQLITE_BUSY_SECONDS", 0.3)
    database = Database(f"sqlite:///{path}")
    with database.transaction() as session:
        session.execute(text("CREATE TABLE t (n INTEGER)"))
    holder = _python(_HOLD_IN_ANOTHER_PROCESS, str(path))
    try:
        assert _line_within(holder, 30) == "held"
        started = time.monotonic()
        with pytest.raises(OperationalError) as raised, database.transaction() as session:
            session.execute(text("INSERT INTO t VALUES (1)"))
        assert is_transient_database_error(raised.value)  # answered 503
        assert time.monotonic() - started < 5
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        with database.transaction() as session:
            session.execute(text("INSERT INTO t VALUES (2)"))
        with database.read() as session:
            assert session.execute(text("SELECT n FROM t")).scalars().all() == [2]
    finally:
        holder.kill()
        holder.wait(10)
        database.dispose()


def test_write_lock__the_helpers_wait_fails__that_writer_gives_up_the_next_one_waits_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "failing-wait.db"
    holder = _python(_HOLD_IN_ANOTHER_PROCESS, str(path))
    real_flock = fcntl.flock
    failures = [OSError("the wait failed")]

    def flock(descriptor: int, operation: int) -> None:
        if operation == fcntl.LOCK_EX and failures:  # a wait, not a try
            raise failures.pop()
        real_flock(descriptor, operation)

    try:
        assert _line_within(holder, 30) == "held"
        monkeypatch.setattr("hallkey.core.write_lock.fcntl.flock", flock)
        lock = FileLock(Path(f"{path}.writelock"))
        assert not lock.acquire(0.3)  # its helper's wait failed: no lock, no hang
        assert _taken_once_the_holder_dies(lock, holder)  # a new helper waited for it
    finally:
        holder.kill()
        holder.wait(10)


def _held_by(unit: str) -> float:
    """Returns the seconds write transactions of `unit` held a lock, summed over databases."""
    return sum(
        sample.value
        for family in REGISTRY.collect()
        if family.name == "hallkey_db_write_lock_held_by_unit_seconds"
        for sample in family.samples
        if sample.name.endswith("_sum") and sample.labels.get("unit") == unit
    )


def test_write_lock__holds_are_measured_by_the_unit_of_work_that_held_them(
    tmp_path: Path,
) -> None:
    database = Database(f"sqlite:///{tmp_path / 'units.db'}")
    with database.transaction() as session:
        session.execute(text("CREATE TABLE t (n INTEGER)"))
    metadata = make_metadata()
    queue = JobQueue(database, job_table(metadata, "unit_jobs"), SystemClock())
    metadata.create_all(database.engine)

    def slow_write(job: JobRun) -> None:
        with database.transaction() as session:
            session.execute(text("INSERT INTO t VALUES (1)"))
            time.sleep(0.05)

    worker = Worker(name="w", queue=queue, handlers={"slow_write": slow_write})
    with database.transaction() as session:
        queue.enqueue(session, "slow_write", {})
    job_held, claims_held = _held_by("slow_write"), _held_by("claim")
    assert worker.run_pending() == 1
    assert _held_by("slow_write") - job_held >= 0.05
    assert _held_by("claim") > claims_held

    app = FastAPI()

    @app.post("/things/{n}")
    def add(n: int) -> None:
        with database.transaction() as session:
            session.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})
            time.sleep(0.05)

    before = _held_by("POST /things/{n}")
    with TestClient(MetricsMiddleware(app)) as client:
        assert client.post("/things/7").status_code == 200
    # By the route's template, never the raw path (it may hold a token).
    assert _held_by("POST /things/{n}") - before >= 0.05
    database.dispose()
