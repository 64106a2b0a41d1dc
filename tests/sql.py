"""Watching what a piece of work sends to a database (to count statements in tests)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import Connection


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """Yields the list of statements the engine runs meanwhile (whitespace folded)."""
    seen: list[str] = []

    def capture(_conn: Connection, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", capture)


@contextmanager
def sent_with_parameters(engine: Engine, containing: str) -> Iterator[list[tuple[str, Any]]]:
    """Yields the statements holding `containing` that the engine runs meanwhile, each with
    its parameters (as sent: to be asked for its plan)."""
    seen: list[tuple[str, Any]] = []

    def capture(_conn: Connection, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if containing in statement:
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", capture)


def plan_without_statistics(engine: Engine, statement: str, parameters: Any) -> str:
    """Returns the database's plan for a statement as one line. On PostgreSQL, with sequential
    scans and sorts priced out: the plan it can make at all, whatever its statistics say (a
    test's few rows would make a scan the cheapest)."""
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("SET enable_sort = off")
            connection.exec_driver_sql("SET enable_seqscan = off")
            rows = connection.exec_driver_sql(f"EXPLAIN {statement}", parameters)
        else:
            rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
        return " ".join(str(row[-1]) for row in rows)


def sorts(plan: str) -> bool:
    """Tells whether a plan (of `plan_without_statistics`) sorts rows instead of reading them
    in order from an index."""
    return "sort" in plan.lower() or "TEMP B-TREE" in plan
