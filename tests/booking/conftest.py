"""A booking context on a fresh database (SQLite and PostgreSQL), seeded with two tenants."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from hallkey.booking import (
    BookingContext,
    build_part,
    create_context,
    create_resource,
    create_tenant,
    create_venue,
    issue_api_token,
)
from hallkey.core.clock import ManualClock
from hallkey.core.settings import Settings
from hallkey.core.web import create_app
from tests.conftest import DatabaseUrlFactory
from tests.servers import serving

T0 = datetime(2026, 5, 4, 6, 0, tzinfo=UTC)  # a Monday, 08:00 in Oslo
DEAD_HUB = "http://127.0.0.1:9"  # nothing listens there


@dataclass
class Booking:
    """A running booking context with its test client and seeded ids."""

    ctx: BookingContext
    clock: ManualClock
    client: TestClient
    token: str
    other_token: str
    events_token: str
    other_events_token: str
    tenant_id: str
    resource_id: str
    hours_resource_id: str
    approval_resource_id: str
    other_resource_id: str
    extra: dict[str, Any] = field(default_factory=dict)

    def headers(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}"}

    def count(self, model: Any) -> int:
        with self.ctx.database.transaction() as session:
            return int(session.scalar(select(func.count()).select_from(model)) or 0)


BookingFactory = Callable[..., Booking]


@pytest.fixture
def make_booking(database_url: DatabaseUrlFactory, tmp_path: Path) -> Iterator[BookingFactory]:
    """Returns a factory of seeded booking contexts whose tenants use the hub at `hub_url`."""
    made: list[BookingContext] = []

    def make(hub_url: str = DEAD_HUB) -> Booking:
        settings = Settings(
            data_dir=tmp_path,
            booking_database_url=database_url("booking", migrated=True),
            secret_key="test-secret",
            worker_poll_seconds=0.05,
            # Generous: under a loaded CI machine a hub call may take seconds, and a timed-out
            # call retried later makes a test's record of calls differ from the story's.
            http_timeout_seconds=10.0,
        )
        clock = ManualClock(T0)
        ctx = create_context(settings, clock)
        made.append(ctx)
        with ctx.database.transaction() as session:
            tenant_id = create_tenant(
                ctx,
                session,
                name="Testby kommune",
                slug="testby",
                hub_url=hub_url,
                hub_api_key="hkh_client.secret",
                hostnames=["booking.testby.example"],
            )
            venue_id = create_venue(ctx, session, tenant_id=tenant_id, name="Testby hall")
            resource_id = create_resource(
                ctx, session, venue_id=venue_id, name="Main hall", door_ids=["dor_a", "dor_b"]
            )
            hours_resource_id = create_resource(
                ctx,
                session,
                venue_id=venue_id,
                name="Meeting room",
                door_ids=["dor_c"],
                opening_hours={day: [["08:00", "22:00"]] for day in ("mon", "tue", "wed")},
            )
            approval_resource_id = create_resource(
                ctx,
                session,
                venue_id=venue_id,
                name="Stage",
                door_ids=["dor_d"],
                approval_required=True,
            )
            token = issue_api_token(
                ctx, session, tenant_id=tenant_id, name="portal", scopes=["staff"]
            )
            events_token = issue_api_token(
                ctx, session, tenant_id=tenant_id, name="hub", scopes=["events:write"]
            )
            other_id = create_tenant(
                ctx,
                session,
                name="Annenby",
                slug="annenby",
                hub_url=hub_url,
                hub_api_key="hkh_other.secret",
            )
            other_venue = create_venue(ctx, session, tenant_id=other_id, name="Annen hall")
            other_resource_id = create_resource(
                ctx, session, venue_id=other_venue, name="Other hall", door_ids=["dor_x"]
            )
            other_token = issue_api_token(
                ctx, session, tenant_id=other_id, name="portal", scopes=["staff"]
            )
            other_events_token = issue_api_token(
                ctx, session, tenant_id=other_id, name="hub", scopes=["events:write"]
            )
        client = TestClient(create_app([build_part(ctx)], run_workers=False))
        return Booking(
            ctx=ctx,
            clock=clock,
            client=client,
            token=token,
            other_token=other_token,
            events_token=events_token,
            other_events_token=other_events_token,
            tenant_id=tenant_id,
            resource_id=resource_id,
            hours_resource_id=hours_resource_id,
            approval_resource_id=approval_resource_id,
            other_resource_id=other_resource_id,
        )

    yield make
    for ctx in made:
        ctx.close()


@pytest.fixture
def booking(make_booking: BookingFactory) -> Booking:
    """Returns a seeded booking context whose hub is unreachable."""
    return make_booking()


def race(booking: Booking, bodies: list[dict[str, Any]]) -> list[int]:
    """Posts every reservation body at once, each from its own thread and client over real
    HTTP; returns the statuses, sorted."""
    results: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(bodies))

    with serving(booking.client.app) as server:

        def attempt(body: dict[str, Any]) -> None:
            with httpx.Client(base_url=server.base_url, timeout=60) as client:
                barrier.wait()
                response = client.post("/api/v1/reservations", json=body, headers=booking.headers())
            with lock:
                results.append(response.status_code)

        threads = [threading.Thread(target=attempt, args=(body,)) for body in bodies]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return sorted(results)


def reservation_body(resource_id: str, start: str, end: str, **extra: Any) -> dict[str, Any]:
    """Returns a valid reservation request."""
    body: dict[str, Any] = {
        "resource_id": resource_id,
        "start": start,
        "end": end,
        "customer": {"name": "Kari Nordmann", "phone": "412 34 567", "email": "kari@example.no"},
    }
    body.update(extra)
    return body
