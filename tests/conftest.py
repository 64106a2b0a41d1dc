"""Shared fixtures: a fresh database per test on SQLite and, when reachable, PostgreSQL.

PostgreSQL is found at HALLKEY_TEST_POSTGRES_URL (default: the standard local port). Where it
cannot be reached its tests are skipped with the reason — except under CI, or with
HALLKEY_TEST_REQUIRE_POSTGRES=1, where that is an error.
"""

from __future__ import annotations

import functools
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from hallkey.booking import context as booking_context
from hallkey.core import security
from hallkey.core.db import normalise_url
from hallkey.core.migrations import upgrade
from hallkey.hub import context as hub_context
from hallkey.locks import context as locks_context
from tests.browser import browser, desktop, phone  # noqa: F401 - the page tests' fixtures

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


class DatabaseUrlFactory(Protocol):
    """Makes a fresh database named after `name`: empty, or `migrated` to the newest revision
    of the context of that name (a copy of a template migrated once per test process)."""

    def __call__(self, name: str, *, migrated: bool = False) -> str: ...


MIGRATIONS = {
    "booking": (booking_context.MIGRATIONS, booking_context.VERSION_TABLE),
    "hub": (hub_context.MIGRATIONS, hub_context.VERSION_TABLE),
    "locks": (locks_context.MIGRATIONS, locks_context.VERSION_TABLE),
}
"""Each context's migrations and version table, by the database name its tests use."""


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


class MigratedTemplates:
    """Databases migrated once per test process and backend, copied for each test that asks:
    the migrations then run in a fresh test's set-up as a check at the head (~15 ms) instead
    of in full (a third to a half of a test's set-up before). The migrations themselves are
    tested from empty databases (test_migrations) and by the tests that start servers."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.postgres: dict[str, str] = {}  # context name -> template database's name

    def sqlite_copy(self, name: str, target: Path) -> None:
        template = self.folder / f"{name}.db"
        if not template.exists():
            building = self.folder / f"{name}.building.db"
            upgrade(f"sqlite:///{building}", *MIGRATIONS[name])
            building.rename(template)
        shutil.copyfile(template, target)

    def postgres_template(self, admin_url: str, name: str) -> str:
        if name not in self.postgres:
            template = f"hk_template_{name}_{secrets.token_hex(4)}"
            _admin_execute(admin_url, f'CREATE DATABASE "{template}"')
            self.postgres[name] = template
            upgrade(_database(admin_url, template), *MIGRATIONS[name])
        return self.postgres[name]


@pytest.fixture(scope="session")
def migrated_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MigratedTemplates]:
    """Returns this test process's migrated template databases; drops them at the end."""
    templates = MigratedTemplates(tmp_path_factory.mktemp("templates"))
    yield templates
    for template in templates.postgres.values():
        _admin_execute(_postgres_admin_url(), f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')


@pytest.fixture
def database_url(
    backend: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    migrated_templates: MigratedTemplates,
) -> Iterator[DatabaseUrlFactory]:
    """Returns a factory of fresh databases (one per name) on the test's backend."""
    created: list[str] = []
    admin_url = request.getfixturevalue("postgres_admin_url") if backend == "postgres" else None

    def make(name: str, *, migrated: bool = False) -> str:
        if admin_url is None:
            path = tmp_path / f"{name}.db"
            if migrated:
                migrated_templates.sqlite_copy(name, path)
            return f"sqlite:///{path}"
        db_name = f"hk_{name}_{secrets.token_hex(4)}"
        template = migrated_templates.postgres_template(admin_url, name) if migrated else None
        copy_of = f' TEMPLATE "{template}"' if template else ""
        _admin_execute(admin_url, f'CREATE DATABASE "{db_name}"{copy_of}')
        created.append(db_name)
        # A test's commits need not wait for the disk: nothing of it outlives a crash.
        _admin_execute(admin_url, f'ALTER DATABASE "{db_name}" SET synchronous_commit = off')
        return _database(admin_url, db_name)

    yield make
    for db_name in created:
        assert admin_url is not None
        _admin_execute(admin_url, f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


def _database(admin_url: str, db_name: str) -> str:
    """Returns the URL of the database `db_name` on the server of `admin_url`."""
    return make_url(admin_url).set(database=db_name).render_as_string(hide_password=False)


def _admin_execute(admin_url: str, statement: str) -> None:
    with _admin_engine(admin_url).connect() as connection:
        connection.execute(text(statement))


@functools.cache
def _admin_engine(admin_url: str) -> Engine:
    """One engine per test process for the statements no transaction may hold (CREATE
    DATABASE…); its connection to the server's own database stays open between tests."""
    return create_engine(admin_url, isolation_level="AUTOCOMMIT", pool_size=1)
