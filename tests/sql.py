"""Watching what a piece of work sends to a database (to count statements in tests)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import Connection


@contextmanager
def _listening(engine: Engine, record: Callable[[str, Any], None]) -> Iterator[None]:
    """Hands each statement the engine runs meanwhile, with its parameters, to `record`."""

    def capture(_conn: Connection, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        record(statement, parameters)

    event.listen(engine, "before_cursor_execute", capture)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", capture)


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """Yields the list of statements the engine runs meanwhile (whitespace folded)."""
    seen: list[str] = []
    with _listening(engine, lambda statement, _: seen.append(" ".join(statement.split()))):
        yield seen


@contextmanager
def sent_with_parameters(engine: Engine, containing: str) -> Iterator[list[tuple[str, Any]]]:
    """Yields the statements holding `containing` that the engine runs meanwhile, each with
    its parameters (as sent: to be asked for its plan)."""
    seen: list[tuple[str, Any]] = []

    def record(statement: str, parameters: Any) -> None:
        if containing in statement:
            seen.append((statement, parameters))

    with _listening(engine, record):
        yield seen


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


def leaving_out_indexes(
    names: set[str],
) -> Callable[[object, str | None, str, bool, object], bool]:
    """Returns an Alembic `include_object` that leaves the indexes `names` out of a comparison
    of migrations and models: those made for the other database, and those on a column under
    a collation, which Alembic reflects without it (check them by `index_definition`)."""

    def include(item: object, name: str | None, type_: str, reflected: bool, to: object) -> bool:
        return type_ != "index" or name not in names

    return include


def index_definition(connection: Connection, name: str) -> str | None:
    """Returns PostgreSQL's `CREATE INDEX` statement of the index `name`, or None."""
    definition = connection.exec_driver_sql(
        "SELECT indexdef FROM pg_indexes WHERE indexname = %(name)s", {"name": name}
    ).scalar()
    return None if definition is None else str(definition)
