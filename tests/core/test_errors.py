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
