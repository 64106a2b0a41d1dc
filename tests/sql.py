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
