"""Alembic migrations, one history per context, each with its own version table.

A context's `migrations/env.py` is three lines that call `run_env`; `upgrade` applies a
context's migrations to its database (at start-up and by `hallkey migrate`).
"""

from __future__ import annotations

import zlib
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection

from hallkey.core.db import create_db_engine, normalise_url


def make_config(database_url: str, script_location: Path, version_table: str) -> Config:
    """Returns an Alembic config for one context's migrations on one database."""
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.set_main_option("sqlalchemy.url", normalise_url(database_url).replace("%", "%%"))
    config.attributes["version_table"] = version_table
    return config


def upgrade(database_url: str, script_location: Path, version_table: str) -> None:
    """Brings a context's database to the newest revision; safe when processes race."""
    config = make_config(database_url, script_location, version_table)
    engine = create_db_engine(database_url)
    try:
        with engine.connect() as connection:
            lock_id = zlib.crc32(version_table.encode())
            if connection.dialect.name == "postgresql":
                # Several processes of one context may start at once; one migrates at a time.
                connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": lock_id})
                connection.commit()
            try:
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
            finally:
                if connection.dialect.name == "postgresql":
                    connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": lock_id})
                    connection.commit()
    finally:
        engine.dispose()


def run_env(target_metadata: MetaData) -> None:
    """Runs the migrations of the current Alembic invocation; called from a context's env.py."""
    from alembic import context

    config = context.config
    version_table = str(config.attributes.get("version_table", "alembic_version"))
    connection: Connection | None = config.attributes.get("connection")
    if connection is not None:
        _run(connection, target_metadata, version_table)
        return
    engine = create_db_engine(str(config.get_main_option("sqlalchemy.url")))
    try:
        with engine.connect() as conn:
            _run(conn, target_metadata, version_table)
    finally:
        engine.dispose()


def _run(connection: Connection, target_metadata: MetaData, version_table: str) -> None:
    from alembic import context

    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table=version_table,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    if connection.in_transaction():
        connection.commit()
