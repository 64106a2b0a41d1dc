"""An unexpected exception becomes the JSON 500; its message reaches neither client nor log."""

from __future__ import annotations

import logging

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from sqlalchemy import text

from hallkey.core.db import Database
from hallkey.core.web import ContextPart, create_app

PLANTED = "Zebulon Quixwhistle +4741357986"


def _app() -> TestClient:
    router = APIRouter()

    @router.get("/boom")
    def boom() -> None:
        raise RuntimeError(PLANTED)

    part = ContextPart(name="t", title="t", openapi_path="/t/openapi.json", routers=[router])
    # raise_server_exceptions: an exception escaping the app would fail the test.
    return TestClient(create_app([part], run_workers=False), raise_server_exceptions=True)


def test_unexpected_exception__is_a_json_500_without_its_message(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with _app() as client:
        response = client.get("/boom")
    assert response.status_code == 500
    assert response.json() == {"error": {"code": "internal", "message": "internal error"}}
    assert "RuntimeError" in caplog.text
    assert "Zebulon" not in caplog.text and "41357986" not in caplog.text
    metrics = client.get("/metrics").text
    assert 'route="/boom",status="500"' in metrics


def test_database_errors__do_not_quote_the_values(tmp_path: object) -> None:
    database = Database(f"sqlite:///{tmp_path}/t.db")
    with database.transaction() as session:
        session.execute(text("CREATE TABLE t (phone TEXT UNIQUE)"))
        session.execute(text("INSERT INTO t VALUES (:p)"), {"p": "+4741357986"})
    with pytest.raises(Exception) as error, database.transaction() as session:
        session.execute(text("INSERT INTO t VALUES (:p)"), {"p": "+4741357986"})
    assert "41357986" not in str(error.value)
    database.dispose()


class _DriverError(Exception):
    """Stands in for a driver's error object (psycopg's carry `sqlstate`)."""

    def __init__(self, message: str, sqlstate: str | None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


def _failing_app(orig: Exception) -> TestClient:
    """An app whose one route fails with the database error that wraps the driver's `orig`."""
    from sqlalchemy.exc import OperationalError

    return _app_raising(OperationalError("UPDATE …", {}, orig))


def _app_raising(error: Exception) -> TestClient:
    router = APIRouter()

    @router.get("/busy")
    def busy() -> None:
        raise error

    part = ContextPart(name="t", title="t", openapi_path="/t/openapi.json", routers=[router])
    return TestClient(create_app([part], run_workers=False), raise_server_exceptions=True)


@pytest.mark.parametrize(
    "orig",
    [
        _DriverError(f"deadlock detected {PLANTED}", "40P01"),
        _DriverError("could not serialize access", "40001"),
        _DriverError("database is locked", None),
        _DriverError("too many connections for role", "53300"),
        _DriverError(
            'connection to server at "db" failed: FATAL:  sorry, too many clients already', None
        ),
    ],
)
def test_database_busy__deadlock_serialization_or_lock_timeout__is_a_503_to_retry(
    orig: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with _failing_app(orig) as client:
        response = client.get("/busy")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.json()["error"]["code"] == "busy"
    assert "Zebulon" not in caplog.text


def test_database_busy__no_pooled_connection_within_the_wait__is_a_503_to_retry() -> None:
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    with _app_raising(PoolTimeout("QueuePool limit of size 10 overflow 20 reached")) as client:
        response = client.get("/busy")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "busy"


def test_database_error__not_transient__stays_a_500() -> None:
    with _failing_app(_DriverError("no such table: x", "42P01")) as client:
        response = client.get("/busy")
    assert response.status_code == 500
