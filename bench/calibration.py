"""How fast this machine runs hallkey-like Python, so that figures from machines (or days) of
different speeds can be set side by side: the shared VMs the bench runs on differed up to
3.5 times in speed from one session to the next.

Two fixed workloads, each the best of three runs: plain Python (dicts, attributes, calls), and
SQLAlchemy's ORM reading one row by key from an in-memory SQLite database — the kind of work a
booking's CPU time is mostly made of. A figure twice as high means a machine half as fast.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Integer, String, bindparam, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

RUNS = 3


@dataclass(frozen=True)
class _Point:
    x: int
    y: int


def _python_workload() -> None:
    """Dict and attribute work and small calls, as request handling does."""
    table: dict[int, _Point] = {}
    for n in range(200_000):
        point = _Point(n, n * 2)
        table[n % 1024] = point
        if table.get(n % 512, point).y < 0:
            raise AssertionError("unreachable")


class _Base(DeclarativeBase):
    pass


class _Row(_Base):
    __tablename__ = "calibration_rows"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(40))


def _orm_workload() -> Callable[[], None]:
    """Returns 1,000 ORM reads of one row by key, each in a session of its own."""
    engine = create_engine("sqlite://")
    _Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add_all(_Row(id=n, name=f"row {n}") for n in range(100))
        session.commit()
    query = select(_Row).where(_Row.id == bindparam("id"))

    def run() -> None:
        for n in range(1000):
            with Session(engine) as session:
                if session.scalars(query, {"id": n % 100}).one() is None:
                    raise AssertionError("unreachable")

    return run


def _best_ms(work: Callable[[], None]) -> float:
    best = float("inf")
    for _ in range(RUNS):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best * 1000


def machine_speed() -> str:
    """Returns one line: how long each fixed workload took here (lower is faster)."""
    python_ms = _best_ms(_python_workload)
    orm_ms = _best_ms(_orm_workload())
    return (
        f"machine speed: plain Python workload {python_ms:.0f} ms, 1,000 ORM reads"
        f" {orm_ms:.0f} ms (best of {RUNS}; lower is faster)"
    )
