"""How many connections a process may hold to one context's PostgreSQL database."""

from __future__ import annotations

import pytest
from sqlalchemy.pool import QueuePool

from hallkey.core.db import Database
from hallkey.core.settings import Settings

PG_URL = "postgresql://hallkey@127.0.0.1:1/never_connected"  # building an engine connects not


@pytest.mark.parametrize(("connections", "kept", "overflow"), [(30, 10, 20), (4, 4, 0)])
def test_database__holds_at_most_its_connections(
    connections: int, kept: int, overflow: int
) -> None:
    pool = Database(PG_URL, name="hub", connections=connections).engine.pool
    assert isinstance(pool, QueuePool)
    assert (pool.size(), pool._max_overflow) == (kept, overflow)


def test_settings__database_connections_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HALLKEY_DATABASE_CONNECTIONS", "8")
    assert Settings().database_connections == 8
    monkeypatch.setenv("HALLKEY_DATABASE_CONNECTIONS", "1")
    with pytest.raises(ValueError, match="database_connections"):
        Settings()
