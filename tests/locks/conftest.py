"""A door controller on a fresh database, driven through HTTP with a manual clock."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from hallkey.core.clock import ManualClock
from hallkey.core.settings import Settings
from hallkey.core.web import create_app
from hallkey.locks import LocksContext, build_part, create_context, create_controller, create_door
from tests.conftest import DatabaseUrlFactory

T0 = datetime(2026, 3, 29, 10, 0, tzinfo=UTC)
DOOR = "door-main"


def z(value: datetime) -> str:
    """Returns an RFC 3339 UTC time with `Z`, as the API writes it."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def window(start: datetime, end: datetime) -> dict[str, str]:
    return {"valid_from": z(start), "valid_to": z(end)}


@dataclass
class Locks:
    """A controller with one door, its key, and an HTTP client."""

    ctx: LocksContext
    clock: ManualClock
    client: TestClient
    controller_id: str
    key: str
    door: str = DOOR

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def put_pin(
        self, ref: str, code: str, windows: list[dict[str, str]], door: str | None = None
    ) -> httpx.Response:
        response: httpx.Response = self.client.put(
            f"/locks/v1/doors/{door or self.door}/credentials/{ref}",
            json={"type": "pin", "code": code, "windows": windows},
            headers=self.auth,
        )
        return response

    def keypad(self, code: str, door: str | None = None) -> dict[str, Any]:
        response = self.client.post(
            f"/locks/v1/doors/{door or self.door}/keypad", json={"code": code}, headers=self.auth
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def door_state(self, door: str | None = None) -> dict[str, Any]:
        response = self.client.get(f"/locks/v1/doors/{door or self.door}", headers=self.auth)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def events(self, **params: str) -> list[dict[str, Any]]:
        response = self.client.get("/locks/v1/events", params=params, headers=self.auth)
        assert response.status_code == 200, response.text
        body: list[dict[str, Any]] = response.json()
        return body

    def advance(self, **kwargs: float) -> datetime:
        return self.clock.advance(timedelta(**kwargs))


def make_settings(tmp_path: Path, url: str) -> Settings:
    return Settings(
        data_dir=tmp_path,
        locks_database_url=url,
        secret_key="test-secret",
        worker_poll_seconds=0.05,
    )


class TickingClock(ManualClock):
    """A clock that moves on by itself: every reading is 1 ms later than the one before."""

    def now(self) -> datetime:
        """Returns the time, then moves the clock 1 ms on."""
        return self.advance(timedelta(milliseconds=1)) - timedelta(milliseconds=1)


@contextmanager
def open_locks(tmp_path: Path, url: str, clock: ManualClock) -> Iterator[Locks]:
    """Yields a controller with one door on the database at `url`, served to a test client."""
    ctx = create_context(make_settings(tmp_path, url), clock)
    with ctx.database.transaction() as session:
        controller_id, key = create_controller(ctx, session, name="Sagene skole")
        create_door(ctx, session, controller_id=controller_id, name="Main entrance", door_id=DOOR)
    with TestClient(create_app([build_part(ctx)], run_workers=False)) as client:
        yield Locks(ctx=ctx, clock=clock, client=client, controller_id=controller_id, key=key)


@pytest.fixture
def locks(tmp_path: Path, database_url: DatabaseUrlFactory) -> Iterator[Locks]:
    with open_locks(tmp_path, database_url("locks", migrated=True), ManualClock(T0)) as opened:
        yield opened


@pytest.fixture
def ticking_locks(tmp_path: Path, database_url: DatabaseUrlFactory) -> Iterator[Locks]:
    """Like `locks`, on a clock that moves on at every reading, as a real one does."""
    with open_locks(tmp_path, database_url("locks", migrated=True), TickingClock(T0)) as opened:
        yield opened
