"""How hallkey sets up each SQLite connection."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from hallkey.core.db import SQLITE_CACHE_KIB, Database


def test_sqlite_connection__small_page_cache_wal_and_erasing_deletes(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with database.engine.connect() as connection:
            pragma = {
                name: connection.execute(text(f"PRAGMA {name}")).scalar_one()
                for name in ("cache_size", "journal_mode", "secure_delete", "foreign_keys")
            }
    finally:
        database.dispose()
    assert pragma == {
        "cache_size": -SQLITE_CACHE_KIB,
        "journal_mode": "wal",
        "secure_delete": 1,
        "foreign_keys": 1,
    }
    assert SQLITE_CACHE_KIB < 2000  # below SQLite's default of 2000 KiB a connection
