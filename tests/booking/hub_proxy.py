"""The real hub for booking tests: a `hallkey.hub` context with memory doors, served on
loopback behind a thin wrapper that records the calls and can inject failures."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio
import httpx
from sqlalchemy import select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hallkey.booking.models import Tenant
from hallkey.core.clock import ManualClock
from hallkey.core.settings import Settings
from hallkey.core.web import create_app
from hallkey.hub import HubContext, build_part, create_client, create_context, create_door
from hallkey.hub import create_site as create_hub_site
from tests.booking.conftest import Booking, BookingFactory, reservation_body
from tests.conftest import DatabaseUrlFactory
from tests.servers import ServerThread

START = "2026-05-04T10:00:00Z"
END = "2026-05-04T12:00:00Z"
HUB_DOORS = ("dor_a", "dor_b", "dor_d")
"""The doors the hub knows for the booking's first tenant (not `dor_c`: an unknown door)."""


@dataclass
class HubProxy:
    """An ASGI wrapper around the hub's app: records each POST (action, body, Authorization),
    refuses actions on demand, runs a hook during GrantAccess, or answers an action with the
    grant as it stands, changing nothing (as the hub once answered a repeated GrantAccess)."""

    app: ASGIApp | None = None
    calls: list[tuple[str, dict[str, Any], str]] = field(default_factory=list)
    refuse: dict[str, tuple[int, str]] = field(default_factory=dict)
    on_grant: Callable[[], None] | None = None
    answer_as_it_stands: set[str] = field(default_factory=set)

    def names(self) -> list[str]:
        """Returns the actions called, in order."""
        return [name for name, _, _ in self.calls]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.app is not None
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        raw = b""
        while True:
            message = await receive()
            raw += message.get("body", b"")
            if not message.get("more_body", False):
                break
        action = str(scope["path"]).rsplit("/", 1)[-1]
        auth = dict(scope["headers"]).get(b"authorization", b"").decode()
        body: dict[str, Any] = json.loads(raw) if raw else {}
        self.calls.append((action, body, auth))
        if action == "GrantAccess" and self.on_grant is not None:
            hook, self.on_grant = self.on_grant, None
            await anyio.to_thread.run_sync(hook)
        if action in self.refuse:
            status, code = self.refuse[action]
            await _send_error(send, status, code)
            return
        if action in self.answer_as_it_stands:
            scope = {
                **scope,
                "method": "GET",
                "path": f"/hub/v1/grants/{body['ref']}",
                "raw_path": f"/hub/v1/grants/{body['ref']}".encode(),
            }
            raw = b""
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": raw, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _send_error(send: Send, status: int, code: str) -> None:
    payload = json.dumps({"error": {"code": code, "message": code, "field": None}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": payload})


@dataclass
class RealHub:
    """The hub the booking talks to: its context, the wrapper in front, and its server."""

    ctx: HubContext
    proxy: HubProxy
    server: ServerThread
    key: str

    def grant(self, ref: str) -> dict[str, Any]:
        """Returns the hub's grant for a ref of the first tenant (asserting a 200)."""
        response = httpx.get(
            f"{self.server.base_url}/hub/v1/grants/{ref}",
            headers={"Authorization": f"Bearer {self.key}"},
        )
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def post(self, action: str, body: dict[str, Any]) -> httpx.Response:
        """Calls the hub's API directly, as the first tenant's client (not recorded)."""
        return httpx.post(
            f"{self.server.base_url}/hub/v1/{action}",
            json=body,
            headers={"Authorization": f"Bearer {self.key}"},
        )

    def run_jobs(self) -> int:
        """Runs the hub's due jobs (programming doors, messages)."""
        return self.ctx.worker.run_pending()


@contextmanager
def start_real_hub(
    make_booking: BookingFactory, database_url: DatabaseUrlFactory, tmp_path: Path
) -> Iterator[tuple[Booking, RealHub]]:
    """Yields a booking context wired to a real hub on loopback (sharing the booking's clock)."""
    proxy = HubProxy()
    server = ServerThread(proxy)
    booking = make_booking(hub_url=server.base_url)
    assert isinstance(booking.clock, ManualClock)
    settings = Settings(
        data_dir=tmp_path / "hub",
        hub_database_url=database_url("hub", migrated=True),
        secret_key="test-secret",
        worker_poll_seconds=0.05,
    )
    ctx = create_context(settings, booking.clock)
    with ctx.database.transaction() as session:
        client_id, key = create_client(ctx, session, name="Testby kommune")
        site_id, _ = create_hub_site(
            ctx, session, client_id=client_id, name="Testby hall", connector="memory", config={}
        )
        for door_id in HUB_DOORS:
            create_door(ctx, session, site_id=site_id, name=door_id, door_id=door_id)
        other_id, other_key = create_client(ctx, session, name="Annenby")
        other_site, _ = create_hub_site(
            ctx, session, client_id=other_id, name="Annen hall", connector="memory", config={}
        )
        create_door(ctx, session, site_id=other_site, name="dor_x", door_id="dor_x")
    with booking.ctx.database.transaction() as session:
        for tenant in session.scalars(select(Tenant)):
            tenant.hub_api_key_sealed = booking.ctx.box.seal(
                key if tenant.id == booking.tenant_id else other_key
            )
    proxy.app = create_app([build_part(ctx)], run_workers=False)
    server.start()
    try:
        yield booking, RealHub(ctx, proxy, server, key)
    finally:
        server.stop()
        ctx.close()


def at(text: str) -> datetime:
    """Returns an RFC 3339 time as a datetime."""
    return datetime.fromisoformat(text)


@dataclass
class World:
    booking: Booking
    real_hub: RealHub

    @property
    def hub(self) -> HubProxy:
        """The wrapper in front of the hub: its record of calls and its failure switches."""
        return self.real_hub.proxy

    @property
    def server(self) -> ServerThread:
        return self.real_hub.server

    def reserve(self, resource_id: str | None = None) -> dict[str, Any]:
        body = reservation_body(resource_id or self.booking.resource_id, START, END)
        response = self.booking.client.post(
            "/api/v1/reservations", json=body, headers=self.booking.headers()
        )
        assert response.status_code == 201, response.text
        data: dict[str, Any] = response.json()
        return data

    def get(self, reservation_id: str) -> dict[str, Any]:
        response = self.booking.client.get(
            f"/api/v1/reservations/{reservation_id}", headers=self.booking.headers()
        )
        assert response.status_code == 200
        data: dict[str, Any] = response.json()
        return data

    def move(self, reservation_id: str, start: str, end: str) -> None:
        response = self.booking.client.patch(
            f"/api/v1/reservations/{reservation_id}",
            json={"start": start, "end": end},
            headers=self.booking.headers(),
        )
        assert response.status_code == 200, response.text

    def run_jobs(self) -> int:
        """Runs the booking's due jobs; returns how many were not customer emails (those
        run too, but the tests here count the pushes to the hub)."""
        ctx = self.booking.ctx
        with ctx.database.read() as session:
            emails_before = ctx.jobs.pending_count(session, "customer_email")
        ran = ctx.worker.run_pending()
        with ctx.database.read() as session:
            emails_after = ctx.jobs.pending_count(session, "customer_email")
        return ran - (emails_before - emails_after)

    def sync_again(self, reservation_id: str) -> None:
        """Queues the reservation's push once more, as any later change would."""
        with self.booking.ctx.database.transaction() as session:
            self.booking.ctx.jobs.enqueue(
                session, "sync_access", {"reservation_id": reservation_id}
            )

    def try_code(self, door: str, code: str, when: str) -> Any:
        """Types a code at a hub door's keypad at a time."""
        return self.real_hub.ctx.connectors.memory.try_code(door, code, at(when))
