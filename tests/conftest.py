"""Shared fixtures: a fresh database per test on SQLite and, when reachable, PostgreSQL.

PostgreSQL is found at HALLKEY_TEST_POSTGRES_URL (default: the standard local port). Where it
cannot be reached its tests are skipped with the reason — except under CI, or with
HALLKEY_TEST_REQUIRE_POSTGRES=1, where that is an error.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pytest
from argon2 import PasswordHasher
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from hallkey.core import security
from hallkey.core.db import normalise_url
from tests.browser import browser, desktop, phone  # noqa: F401 - the page tests' fixtures
from tests.databases import (
    MigratedDatabases,
    create,
    database_url_on,
    drop,
)

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


class DatabaseUrlFactory(Protocol):
    """Makes a fresh database named after `name`: empty, or `migrated` to the newest revision
    of the context of that name (`tests/databases.py`)."""

    def __call__(self, name: str, *, migrated: bool = False) -> str: ...


def _postgres_admin_url() -> str:
    return normalise_url(os.environ.get("HALLKEY_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL))


def _postgres_required() -> bool:
    return bool(os.environ.get("CI")) or os.environ.get("HALLKEY_TEST_REQUIRE_POSTGRES") == "1"


CHEAP_PASSWORD_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
"""Argon2 at its cheapest: the same hash format and checks as the product's, at a fraction of
its cost (the product's takes 0.1-0.3 s a hash here, and the suite hashes thousands)."""


@pytest.fixture(autouse=True, scope="session")
def cheap_password_hashes() -> Iterator[None]:
    """Hashes passwords cheaply in this test process (servers started as processes keep the
    product's cost; `tests/core/test_security.py` checks that cost itself)."""
    product = security._password_hasher
    security._password_hasher = CHEAP_PASSWORD_HASHER
    try:
        yield
    finally:
        security._password_hasher = product


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    """Returns the URL of a PostgreSQL server we may create databases on, or skips."""
    url = _postgres_admin_url()
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        reason = f"PostgreSQL not reachable at {make_url(url).render_as_string()}: {exc}"
        if _postgres_required():
            pytest.fail(f"{reason} (required under CI)", pytrace=False)
        pytest.skip(reason)
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    """Runs a test once on SQLite and once on PostgreSQL."""
    return str(request.param)


@pytest.fixture(scope="session")
def migrated_databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MigratedDatabases]:
    """Returns this test process's migrated templates and free databases; drops them at the
    end."""
    databases = MigratedDatabases(tmp_path_factory.mktemp("templates"))
    yield databases
    databases.drop_all(_postgres_admin_url())


@pytest.fixture
def database_url(
    backend: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    migrated_databases: MigratedDatabases,
) -> Iterator[DatabaseUrlFactory]:
    """Returns a factory of fresh databases (one per name) on the test's backend."""
    made: list[tuple[str, str, bool]] = []  # PostgreSQL: (context name, database, migrated)
    admin_url = request.getfixturevalue("postgres_admin_url") if backend == "postgres" else None

    def make(name: str, *, migrated: bool = False) -> str:
        if admin_url is None:
            path = tmp_path / f"{name}.db"
            if migrated:
                migrated_databases.sqlite_copy(name, path)
            return f"sqlite:///{path}"
        if migrated:
            db_name = migrated_databases.postgres_database(admin_url, name)
        else:
            db_name = create(admin_url, name)
        made.append((name, db_name, migrated))
        return database_url_on(admin_url, db_name)

    yield make
    for name, db_name, migrated in made:
        assert admin_url is not None
        if migrated:
            migrated_databases.give_back(admin_url, name, db_name)
        else:
            drop(admin_url, db_name)
