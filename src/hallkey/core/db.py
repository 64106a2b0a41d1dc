"""Database set-up for one context: engine, sessions, UTC timestamps, naming convention.

SQLite (the embedded default) runs in WAL mode and starts every transaction with
`BEGIN IMMEDIATE`, so that a check and the write that depends on it (a reservation's
conflict check and its insert) can never interleave with another writer.
"""

from __future__ import annotations

import functools
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prometheus_client import Counter
from sqlalchemy import (
    DateTime,
    Engine,
    Insert,
    MetaData,
    String,
    Table,
    create_engine,
    event,
    insert,
    inspect,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator

from hallkey.core.write_lock import FairLock, QueuedWriterConnection, write_lock_for

READ_ONLY = "hallkey_read_only"
"""Execution option of connections that only read (see `Database.read`)."""

DB_STATEMENTS = Counter(
    "hallkey_db_statements_total", "SQL statements sent to the database", ["database"]
)
DB_TRANSACTIONS = Counter(
    "hallkey_db_transactions_total", "Transactions begun on the database", ["database"]
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def make_metadata() -> MetaData:
    """Returns a MetaData with the project's constraint naming convention."""
    return MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite included)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def normalise_url(url: str) -> str:
    """Returns the URL with psycopg 3 as the PostgreSQL driver when none is named."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def is_sqlite(engine: Engine | Connection) -> bool:
    """Tells whether the engine talks to SQLite."""
    return engine.dialect.name == "sqlite"


POOLED_CONNECTIONS = 10
"""Connections a PostgreSQL engine keeps open; up to its `connections` under load."""

DEFAULT_CONNECTIONS = 30
"""The most connections an engine holds unless told (`HALLKEY_DATABASE_CONNECTIONS`)."""


def create_db_engine(
    url: str, *, name: str | None = None, connections: int = DEFAULT_CONNECTIONS
) -> Engine:
    """Returns an engine for `url`, configured for safe concurrent use; its work is counted
    under `name` (the context's), else the database's own name.

    Parameters are hidden from error messages: they hold phone numbers, emails and digests.
    """
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        lock: FairLock | None = None
        if parsed.database and parsed.database != ":memory:":
            create_private_file(Path(parsed.database))
            lock = write_lock_for(parsed.database)
        engine = create_engine(
            url,
            connect_args={
                "check_same_thread": False,
                "timeout": SQLITE_BUSY_SECONDS,
                "factory": QueuedWriterConnection,
            },
            pool_size=10,
            hide_parameters=True,
        )
        _configure_sqlite(engine, lock)
    else:
        kept = min(POOLED_CONNECTIONS, connections)
        engine = create_engine(
            url,
            pool_pre_ping=True,
            pool_size=kept,
            max_overflow=connections - kept,
            hide_parameters=True,
        )
    _count_work(engine, name or Path(parsed.database or "memory").stem)
    return engine


def _count_work(engine: Engine, name: str) -> None:
    """Counts the engine's statements and transactions (`/metrics`): what a unit of work
    costs is mostly how many of each it takes, and the bench reads them per booking."""
    statements = DB_STATEMENTS.labels(name)
    transactions = DB_TRANSACTIONS.labels(name)

    @event.listens_for(engine, "before_cursor_execute")
    def _statement(*_: Any) -> None:
        statements.inc()

    @event.listens_for(engine, "begin")
    def _transaction(_: Connection) -> None:
        transactions.inc()


def create_private_file(path: Path) -> None:
    """Creates `path` (and its folder) readable by its owner only, unless it exists.

    An empty file is a valid SQLite database; made here with mode 0600 in one step, SQLite then
    gives its `-wal` and `-shm` files the same mode. An existing file keeps its content but
    loses any group or world access (older versions left 0644).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)


SQLITE_CACHE_KIB = 256
"""The page cache of one SQLite connection, in KiB."""

SQLITE_BUSY_SECONDS: float = 30
"""How long a writer waits for its turn (in the process, then at SQLite) before a 503."""


def _configure_sqlite(engine: Engine, lock: FairLock | None) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Writers of this process queue in arrival order before they ask SQLite (write_lock).
        dbapi_connection.write_lock = lock
        dbapi_connection.lock_timeout = SQLITE_BUSY_SECONDS
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Deleted and overwritten content is zeroed, not left in free space (erasure).
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_SECONDS * 1000)}")
        # Each pooled connection keeps its own page cache (2 MB by default; up to 20
        # connections a context). Under writes from other connections WAL mode drops it at the
        # next read anyway, so a small one costs no speed and keeps the memory flat as the
        # database grows (measured: `python -m bench --only memory`).
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN")  # a reader takes no write lock
            return
        driver: QueuedWriterConnection = connection.connection.dbapi_connection  # type: ignore[assignment]
        try:
            driver.begin_write()
        except sqlite3.OperationalError as exc:  # as if SQLite itself had said it
            raise OperationalError("BEGIN IMMEDIATE", None, exc) from exc
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            driver.end_write()
            raise


def table_of(model: type[Any]) -> Table:
    """Returns a mapped class's table, for Core statements built once on hot paths: an UPDATE
    of the mapped class (or one whose clauses name its attributes) runs through the ORM's bulk
    path, about twice the cost of the same UPDATE of the table (profiled)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


@functools.cache
def plain_insert(model: type[Any]) -> Insert:
    """Returns a Core INSERT into a mapped class's table, built once: for rows no one reads
    back as objects in the same unit of work (no object, no flush: a fifth of the cost)."""
    return insert(table_of(model))


def column_values(row: Any) -> dict[str, Any]:
    """Returns the columns set on a mapped object (made, not loaded), by column name: the
    parameters of a Core INSERT of it. Columns left unset get their defaults from the table."""
    state = inspect(row)
    return {
        attribute.columns[0].key: state.dict[attribute.key]
        for attribute in state.mapper.column_attrs
        if attribute.key in state.dict
    }


def dialect_insert(dialect_name: str, target: Any) -> Any:
    """Returns the INSERT into `target` of the dialect named (PostgreSQL's or SQLite's), which
    can take an `ON CONFLICT` clause (built once, before any session exists)."""
    return (postgresql if dialect_name == "postgresql" else sqlite).insert(target)


def insert_if_new(
    session: Session, target: Any, values: dict[str, Any], unique: list[str], returned: Any
) -> bool:
    """Inserts `values` unless a row with the same `unique` columns exists; tells whether it
    did. The answer comes from RETURNING `returned` (a column or a mapped attribute), not the
    row count: PostgreSQL's driver may report -1 for a skipped row, which would take a repeat
    for a new row."""
    table = getattr(target, "__table__", target)
    statement = _insert_if_new(session.get_bind().dialect.name, table, tuple(unique), returned.key)
    return session.execute(statement, values).first() is not None


@functools.cache
def _insert_if_new(dialect_name: str, table: Any, unique: tuple[str, ...], returned: str) -> Any:
    """Returns the INSERT of `insert_if_new`, built once (building a statement costs as much
    again as running it), into the table itself: an INSERT of a mapped class is run through
    the ORM's bulk path (a grant's: 0.45 ms against about 0.1, profiled)."""
    insert = dialect_insert(dialect_name, table)
    return insert.on_conflict_do_nothing(index_elements=list(unique)).returning(table.c[returned])


class Database:
    """One context's database: its engine and the factory of its sessions."""

    def __init__(
        self, url: str, *, name: str | None = None, connections: int = DEFAULT_CONNECTIONS
    ) -> None:
        self.url = normalise_url(url)
        self.engine = create_db_engine(self.url, name=name, connections=connections)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        """Tells whether this database is SQLite."""
        return is_sqlite(self.engine)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """Yields a session whose work is committed on success and rolled back on error.

        The owner of the unit of work (a request, a job) calls this; services never commit.
        """
        session = self.sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """Yields a session for reads only, rolled back at the end; on SQLite it does not wait
        for nor hold the write lock (a key lookup need not queue behind a booking)."""
        with self.engine.connect().execution_options(**{READ_ONLY: True}) as connection:
            session = Session(bind=connection)
            try:
                yield session
            finally:
                session.rollback()
                session.close()

    def scrub(self) -> None:
        """Leaves no copy of overwritten data in side files: on SQLite, checkpoints the WAL
        into the database and truncates it (call after an erasure has committed).

        On PostgreSQL there is nothing to do here: old row versions are the server's to vacuum,
        and its files are not the application's to read.
        """
        if not self.is_sqlite:
            return
        # On the driver's connection, outside any transaction: a checkpoint cannot run in one.
        connection = self.engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            cursor.close()
        finally:
            connection.close()

    def dispose(self) -> None:
        """Closes every pooled connection."""
        self.engine.dispose()


class code_order(FunctionElement[str]):  # noqa: N801 - used like a SQL function
    """A string column compared and sorted by code point, as Python compares strings: on
    PostgreSQL under the "C" collation (a database's own, such as en_US, ignores `_` and `-`
    at first and folds case), on SQLite as it is (BINARY). Pages read by key from two databases
    and compared in Python (the reconciler's refs) must agree on one order."""

    type = String()
    name = "code_order"
    inherit_cache = True


@compiles(code_order)
def _code_order(element: code_order, compiler: SQLCompiler, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


@compiles(code_order, "postgresql")
def _code_order_postgresql(element: code_order, compiler: SQLCompiler, **kw: Any) -> str:
    return f'({compiler.process(element.clauses, **kw)}) COLLATE "C"'
