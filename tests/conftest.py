"""Shared fixtures: a fresh database per test on SQLite and, when reachable, PostgreSQL.

PostgreSQL is found at HALLKEY_TEST_POSTGRES_URL (default: the standard local port). Where it
cannot be reached its tests are skipped with the reason — except under CI, or with
HALLKEY_TEST_REQUIRE_POSTGRES=1, where that is an error.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from hallkey.core import security
from hallkey.core.db import normalise_url
from tests.browser import browser, desktop, phone  # noqa: F401 - the page tests' fixtures

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DatabaseUrlFactory = Callable[[str], str]


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


@pytest.fixture
def database_url(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[DatabaseUrlFactory]:
    """Returns a factory of fresh, empty databases (one per name) on the test's backend."""
    created: list[str] = []
    admin_url = request.getfixturevalue("postgres_admin_url") if backend == "postgres" else None

    def make(name: str) -> str:
        if admin_url is None:
            return f"sqlite:///{tmp_path / f'{name}.db'}"
        db_name = f"hk_{name}_{secrets.token_hex(4)}"
        _admin_execute(admin_url, f'CREATE DATABASE "{db_name}"')
        created.append(db_name)
        return make_url(admin_url).set(database=db_name).render_as_string(hide_password=False)

    yield make
    for db_name in created:
        assert admin_url is not None
        _admin_execute(admin_url, f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


def _admin_execute(admin_url: str, statement: str) -> None:
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(statement))
    finally:
        engine.dispose()
