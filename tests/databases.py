"""The test databases: empty ones, and ones migrated to a context's newest revision.

A migrated database is a copy of a template migrated once per test process and backend
(SQLite: a file copy; PostgreSQL: `CREATE DATABASE … TEMPLATE`), so a test's set-up runs the
migrations only as a check at the head (~15 ms) instead of in full. On PostgreSQL a migrated
database is also used again: after its test it is emptied (every row deleted, sequences
restarted: ~10 ms) and handed to the next test of the same process, instead of dropped and
made anew (~0.3 s each). One that no longer looks like its template (other tables, another
revision) is dropped instead. The migrations themselves are tested from empty databases
(`test_migrations`) and by the tests that start servers.
"""

from __future__ import annotations

import functools
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, NullPool, create_engine, text
from sqlalchemy.engine import make_url

from hallkey.booking import context as booking_context
from hallkey.core.migrations import upgrade
from hallkey.hub import context as hub_context
from hallkey.locks import context as locks_context

MIGRATIONS = {
    "booking": (booking_context.MIGRATIONS, booking_context.VERSION_TABLE),
    "hub": (hub_context.MIGRATIONS, hub_context.VERSION_TABLE),
    "locks": (locks_context.MIGRATIONS, locks_context.VERSION_TABLE),
}
"""Each context's migrations and version table, by the database name its tests use."""


@dataclass(frozen=True)
class Shape:
    """What a migrated database holds apart from rows: its tables and its revision."""

    tables: frozenset[str]
    revision: str


@dataclass
class MigratedDatabases:
    """This test process's templates and its PostgreSQL databases free for another test."""

    folder: Path
    templates: dict[str, tuple[str, Shape]] = field(default_factory=dict)
    free: dict[str, list[str]] = field(default_factory=dict)

    def sqlite_copy(self, name: str, target: Path) -> None:
        """Writes a migrated database of the context `name` at `target`."""
        template = self.folder / f"{name}.db"
        if not template.exists():
            building = self.folder / f"{name}.building.db"
            upgrade(f"sqlite:///{building}", *MIGRATIONS[name])
            building.rename(template)
        shutil.copyfile(template, target)

    def postgres_database(self, admin_url: str, name: str) -> str:
        """Returns the name of an empty, migrated database of the context `name`."""
        free = self.free.get(name)
        if free:
            return free.pop()
        return create(admin_url, name, template=self._postgres_template(admin_url, name))

    def give_back(self, admin_url: str, name: str, db_name: str) -> None:
        """Empties a migrated database after its test for the next one, or drops it."""
        _, shape = self.templates[name]
        if _emptied(admin_url, db_name, shape, MIGRATIONS[name][1]):
            self.free.setdefault(name, []).append(db_name)
        else:
            drop(admin_url, db_name)

    def drop_all(self, admin_url: str) -> None:
        """Drops the templates and the free databases (at the end of the test process)."""
        for databases in self.free.values():
            for db_name in databases:
                drop(admin_url, db_name)
        for template, _ in self.templates.values():
            drop(admin_url, template)

    def _postgres_template(self, admin_url: str, name: str) -> str:
        if name not in self.templates:
            template = f"hk_template_{name}_{secrets.token_hex(4)}"
            admin_execute(admin_url, f'CREATE DATABASE "{template}"')
            url = database_url_on(admin_url, template)
            upgrade(url, *MIGRATIONS[name])
            engine = create_engine(url, poolclass=NullPool)
            try:
                shape = _shape(engine, MIGRATIONS[name][1])
            finally:
                engine.dispose()
            self.templates[name] = (template, shape)
        return self.templates[name][0]


def _shape(engine: Engine, version_table: str) -> Shape:
    """Returns the tables of the database's public schema and its revision."""
    with engine.connect() as connection:
        tables = connection.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ).scalars()
        revision = connection.execute(text(f'SELECT version_num FROM "{version_table}"')).scalar()
        return Shape(tables=frozenset(str(table) for table in tables), revision=str(revision))


def _emptied(admin_url: str, db_name: str, shape: Shape, version_table: str) -> bool:
    """Deletes every row (but the revision) and restarts the sequences; returns False, having
    changed nothing, when the database no longer has its template's shape."""
    # A connection the test left open (a thread still stopping) must not hold a row lock.
    admin_execute(
        admin_url,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = :name AND pid <> pg_backend_pid()",
        {"name": db_name},
    )
    engine = create_engine(database_url_on(admin_url, db_name), poolclass=NullPool)
    try:
        if _shape(engine, version_table) != shape:
            return False
        with engine.begin() as connection:
            # As a replica would: no foreign-key triggers, so the order of deletes is free.
            connection.execute(text("SET LOCAL session_replication_role = replica"))
            for table in sorted(shape.tables - {version_table}):
                connection.execute(text(f'DELETE FROM "{table}"'))
            sequences = connection.execute(
                text("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")
            ).scalars()
            for sequence in list(sequences):
                connection.execute(text(f'ALTER SEQUENCE "{sequence}" RESTART'))
        return True
    except Exception:
        return False
    finally:
        engine.dispose()


def database_url_on(admin_url: str, db_name: str) -> str:
    """Returns the URL of the database `db_name` on the server of `admin_url`."""
    return make_url(admin_url).set(database=db_name).render_as_string(hide_password=False)


def create(admin_url: str, name: str, *, template: str | None = None) -> str:
    """Makes a database named after `name`, empty or a copy of `template`; returns its name."""
    db_name = f"hk_{name}_{secrets.token_hex(4)}"
    copy_of = f' TEMPLATE "{template}"' if template else ""
    admin_execute(admin_url, f'CREATE DATABASE "{db_name}"{copy_of}')
    # A test's commits need not wait for the disk: nothing of it outlives a crash.
    admin_execute(admin_url, f'ALTER DATABASE "{db_name}" SET synchronous_commit = off')
    return db_name


def drop(admin_url: str, db_name: str) -> None:
    """Drops a database, ending any connection to it."""
    admin_execute(admin_url, f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


def admin_execute(admin_url: str, statement: str, params: dict[str, str] | None = None) -> None:
    """Runs one statement outside a transaction (CREATE DATABASE…)."""
    with _admin_engine(admin_url).connect() as connection:
        connection.execute(text(statement), params or {})


@functools.cache
def _admin_engine(admin_url: str) -> Engine:
    """One engine per test process; its connection to the server's own database stays open
    between tests."""
    return create_engine(admin_url, isolation_level="AUTOCOMMIT", pool_size=1)
