"""The usage report, the accounts export and the calendar feeds read reservations and door
events by index (SQLite's query plans: a SEARCH, never a SCAN of either table)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.engine import Connection

from hallkey.booking import issue_api_token
from hallkey.booking.models import Resource
from tests.booking.conftest import Booking, reservation_body

TABLES = ("booking_reservations", "booking_access_events", "booking_calendar_feeds")


def _plans(booking: Booking, call: Callable[[], httpx.Response]) -> list[str]:
    """Returns the query plan of every SELECT the call made on the tables of reports."""
    statements: list[tuple[str, Any]] = []

    def capture(_conn: Connection, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().startswith("SELECT") and any(t in statement for t in TABLES):
            statements.append((statement, parameters))

    engine = booking.ctx.database.engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        response = call()
        assert response.status_code == 200, response.text
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert statements
    with engine.connect() as connection:
        return [
            " | ".join(
                str(row[-1])
                for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", parameters)
            )
            for sql, parameters in statements
        ]


def test_reports__read_reservations_and_events_by_index(booking: Booking, backend: str) -> None:
    if backend != "sqlite":
        pytest.skip("the query plan is SQLite's (PostgreSQL's planner weighs its statistics)")
    with booking.ctx.database.transaction() as session:
        finance = issue_api_token(
            booking.ctx, session, tenant_id=booking.tenant_id, name="f", scopes=["accounts"]
        )
        resource = session.get(Resource, booking.resource_id)
        assert resource is not None
        venue = resource.venue_id
    start = datetime.fromisoformat("2026-05-04T07:00:00+00:00")
    customer = ""
    for i in range(20):
        at = start + timedelta(hours=i)
        body = reservation_body(
            booking.resource_id,
            at.isoformat().replace("+00:00", "Z"),
            (at + timedelta(minutes=30)).isoformat().replace("+00:00", "Z"),
        )
        made = booking.client.post("/api/v1/reservations", json=body, headers=booking.headers())
        assert made.status_code == 201, made.text
        customer = made.json()["customer"]["id"]
    period = "from=2026-05-01T00:00:00Z&to=2026-06-01T00:00:00Z"
    feed = booking.client.post(
        f"/api/v1/customers/{customer}/calendar-feed", headers=booking.headers()
    )
    feed_path = feed.json()["url"].split("booking.testby.example", 1)[1]
    calls: dict[str, Callable[[], httpx.Response]] = {
        "usage": lambda: booking.client.get(
            f"/api/v1/usage?venue={venue}&{period}", headers=booking.headers()
        ),
        "accounts": lambda: booking.client.get(
            f"/api/v1/accounts?{period}&format=csv",
            headers={"Authorization": f"Bearer {finance}"},
        ),
        "resource calendar": lambda: booking.client.get(
            f"/api/v1/resources/{booking.resource_id}/calendar.ics?tenant=testby"
        ),
        "customer feed": lambda: booking.client.get(feed_path),
    }
    indexes = {
        "usage": ["ix_booking_reservations_resource_span", "ix_booking_access_events_ref_at"],
        "accounts": ["ix_booking_reservations_tenant_start"],
        "resource calendar": ["ix_booking_reservations_resource_span"],
        "customer feed": ["token_hash", "ix_booking_reservations_customer_id"],
    }
    for name, call in calls.items():
        plans = _plans(booking, call)
        for plan in plans:
            for table in TABLES:
                assert f"SCAN {table}" not in plan, (name, plan)
            assert "SEARCH" in plan, (name, plan)
        for index, plan in zip(indexes[name], plans, strict=True):
            assert index in plan, (name, plan)
