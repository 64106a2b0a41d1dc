"""A hub on a fresh database (SQLite and PostgreSQL) with a manual clock and memory doors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hallkey.core.clock import ManualClock
from hallkey.core.settings import Settings
from hallkey.core.web import create_app
from hallkey.hub import (
    HubContext,
    build_part,
    create_client,
    create_context,
    create_door,
    create_site,
)
from tests.conftest import DatabaseUrlFactory

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
# 18:00-19:00 in Oslo on 1 December.
START = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)
END = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
PHONE = "+4791234567"
EMAIL = "guest@example.org"
SMS_SECRET = "gateway-secret"


def iso(value: datetime) -> str:
    """Returns an RFC 3339 UTC time ending in Z."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class HubWorld:
    """A running hub with two clients: ours (two memory doors) and another (one door)."""

    ctx: HubContext
    clock: ManualClock
    http: TestClient
    key: str
    client_id: str
    site_id: str
    events_token: str
    doors: list[str]
    other_key: str
    other_door: str
    outbox: Path

    def headers(self, key: str | None = None) -> dict[str, str]:
        """Returns the Authorization header of a client (ours by default)."""
        return {"Authorization": f"Bearer {key or self.key}"}

    def post(self, path: str, body: dict[str, Any], key: str | None = None) -> httpx.Response:
        """POSTs JSON to the hub API."""
        response: httpx.Response = self.http.post(
            f"/hub/v1/{path}", json=body, headers=self.headers(key)
        )
        return response

    def get(self, path: str, key: str | None = None, **params: str) -> httpx.Response:
        """GETs from the hub API."""
        response: httpx.Response = self.http.get(
            f"/hub/v1/{path}", params=params, headers=self.headers(key)
        )
        return response

    def grant_body(self, ref: str = "rsv_one", **overrides: Any) -> dict[str, Any]:
        """Returns a GrantAccess body for our first door, 18:00-19:00 Oslo time."""
        body: dict[str, Any] = {
            "ref": ref,
            "operation": "code",
            "credential": "pin",
            "doors": [self.doors[0]],
            "valid_from": iso(START),
            "valid_to": iso(END),
            "recipient": {"phone": PHONE, "email": EMAIL},
            "deliver_via": ["sms", "email"],
        }
        body.update(overrides)
        return body

    def grant(self, ref: str = "rsv_one", **overrides: Any) -> dict[str, Any]:
        """Grants access and returns the grant JSON (asserting a 201)."""
        response = self.post("GrantAccess", self.grant_body(ref, **overrides))
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    def run_jobs(self) -> int:
        """Runs every due job of the hub."""
        return self.ctx.worker.run_pending()

    def queued_job_kinds(self) -> set[str]:
        """Returns the kinds of the jobs waiting in the hub's queue."""
        table = self.ctx.jobs.table
        with self.ctx.database.transaction() as session:
            return set(session.scalars(select(table.c.kind).where(table.c.status == "pending")))

    def messages(self) -> list[str]:
        """Returns the text of every message in the outbox, oldest first."""
        if not self.outbox.exists():
            return []
        return [p.read_text() for p in sorted(self.outbox.glob("*.txt"))]

    def message_files(self) -> list[Path]:
        """Returns the outbox's message files."""
        return sorted(self.outbox.glob("*.txt")) if self.outbox.exists() else []


def make_settings(tmp_path: Path, url: str, **overrides: Any) -> Settings:
    """Returns test settings for a hub on `url` (with `overrides` of any setting)."""
    values: dict[str, Any] = {
        "data_dir": tmp_path,
        "hub_database_url": url,
        "secret_key": "test-secret",
        "worker_poll_seconds": 0.05,
        "sms_number": "+4759440000",
        "sms_inbound_secret": SMS_SECRET,
    }
    return Settings(**{**values, **overrides})


@pytest.fixture
def hub(database_url: DatabaseUrlFactory, tmp_path: Path) -> Iterator[HubWorld]:
    """Returns a hub with our client (site "Sentrum", doors door-a and door-b) and another."""
    with open_hub(make_settings(tmp_path, database_url("hub", migrated=True))) as world:
        yield world


@contextmanager
def open_hub(settings: Settings) -> Iterator[HubWorld]:
    """Runs a hub with these settings, our client and another (as the `hub` fixture)."""
    clock = ManualClock(T0)
    ctx = create_context(settings, clock)
    with ctx.database.transaction() as session:
        client_id, key = create_client(ctx, session, name="Booking A")
        site_id, events_token = create_site(
            ctx, session, client_id=client_id, name="Sentrum kulturhus", connector="memory",
            config={},
        )  # fmt: skip
        doors = [
            create_door(ctx, session, site_id=site_id, name="Hovedinngang", door_id="door-a"),
            create_door(ctx, session, site_id=site_id, name="Sideinngang", door_id="door-b"),
        ]
        other_id, other_key = create_client(ctx, session, name="Booking B")
        other_site, _ = create_site(
            ctx, session, client_id=other_id, name="Annet bygg", connector="memory", config={}
        )
        other_door = create_door(
            ctx, session, site_id=other_site, name="Annen dør", door_id="door-x"
        )
    app = create_app([build_part(ctx)], run_workers=False)
    with TestClient(app) as http:
        yield HubWorld(
            ctx=ctx,
            clock=clock,
            http=http,
            key=key,
            client_id=client_id,
            site_id=site_id,
            events_token=events_token,
            doors=doors,
            other_key=other_key,
            other_door=other_door,
            outbox=settings.outbox_dir,
        )
    ctx.close()
