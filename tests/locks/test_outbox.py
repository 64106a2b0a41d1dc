"""Door events reach the hub over real HTTP, and wait while it is down."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any

import pytest
from fastapi import FastAPI, Header
from fastapi.responses import JSONResponse
from sqlalchemy import select

from hallkey.locks import set_hub_link
from hallkey.locks.models import Event
from tests.locks.conftest import DOOR, T0, Locks, window, z
from tests.servers import ServerThread

HUB_TOKEN = "hub-events-token-1"


@dataclass
class FakeHub:
    """Speaks the hub's `POST /hub/v1/controller-events` protocol; remembers what it got."""

    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    authorizations: list[str | None] = field(default_factory=list)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/hub/v1/controller-events")
        def controller_events(
            body: dict[str, Any], authorization: Annotated[str | None, Header()] = None
        ) -> JSONResponse:
            self.authorizations.append(authorization)
            if authorization != f"Bearer {HUB_TOKEN}":
                return JSONResponse({"error": {"code": "unauthorized"}}, status_code=401)
            for event in body["events"]:
                self.events.setdefault(event["id"], event)  # idempotent by event id
            return JSONResponse({"accepted": len(body["events"])})

        return app


@pytest.fixture
def hub() -> Iterator[tuple[FakeHub, ServerThread]]:
    fake = FakeHub()
    server = ServerThread(fake.app()).start()
    try:
        yield fake, server
    finally:
        server.stop()


def _link(locks: Locks, server: ServerThread) -> None:
    with locks.ctx.database.transaction() as session:
        set_hub_link(
            locks.ctx,
            session,
            controller_id=locks.controller_id,
            hub_events_url=f"{server.base_url}/hub/v1/controller-events",
            hub_events_token=HUB_TOKEN,
        )


def _unpushed(locks: Locks) -> int:
    with locks.ctx.database.transaction() as session:
        return len(session.scalars(select(Event).where(Event.pushed_at.is_(None))).all())


def test_events__reach_the_hub_with_the_events_token(
    locks: Locks, hub: tuple[FakeHub, ServerThread]
) -> None:
    fake, server = hub
    _link(locks, server)
    locks.put_pin("rsv_1", "482915", [window(T0, T0 + timedelta(hours=1))])
    assert locks.keypad("482915#")["granted"]
    assert locks.keypad("000000")["granted"] is False
    locks.ctx.worker.run_pending()

    assert set(fake.authorizations) == {f"Bearer {HUB_TOKEN}"}
    sent = sorted(fake.events.values(), key=lambda e: e["id"])
    assert [(e["kind"], e["ref"], e["reason"]) for e in sent] == [
        ("access_granted", "rsv_1", None),
        ("access_denied", None, "unknown_code"),
    ]
    assert sent[0] == {
        "id": sent[0]["id"],
        "door": DOOR,
        "ref": "rsv_1",
        "kind": "access_granted",
        "reason": None,
        "at": z(T0),
    }
    assert _unpushed(locks) == 0
    locks.ctx.worker.run_pending()
    assert len(fake.authorizations) == 1  # nothing left to send: no second call


def test_events__stay_queued_while_the_hub_is_down_and_arrive_when_it_is_back(
    locks: Locks, hub: tuple[FakeHub, ServerThread]
) -> None:
    fake, server = hub
    _link(locks, server)
    server.stop()
    locks.client.post(f"/locks/v1/doors/{DOOR}/pulse", json={"ref": "rsv_2"}, headers=locks.auth)
    assert locks.keypad("123456")["reason"] == "unknown_code"  # decisions never need the hub
    locks.ctx.worker.run_pending()
    assert _unpushed(locks) == 2
    with locks.ctx.database.transaction() as session:
        assert locks.ctx.jobs.pending_count(session, "push_events") >= 1

    server.start()  # the same port again
    assert locks.ctx.worker.run_pending() == 0  # still waiting out its backoff
    locks.clock.advance(timedelta(minutes=10))
    locks.ctx.worker.run_pending()
    assert sorted(e["kind"] for e in fake.events.values()) == ["access_denied", "door_pulsed"]
    assert _unpushed(locks) == 0
    with locks.ctx.database.transaction() as session:
        assert locks.ctx.jobs.pending_count(session, "push_events") == 0


def test_events__without_a_hub_link__wait_until_one_is_set(
    locks: Locks, hub: tuple[FakeHub, ServerThread]
) -> None:
    fake, server = hub
    locks.client.post(f"/locks/v1/doors/{DOOR}/pulse", json={}, headers=locks.auth)
    locks.ctx.worker.run_pending()
    assert fake.authorizations == []
    assert _unpushed(locks) == 1
    _link(locks, server)
    locks.ctx.worker.run_pending()
    assert [e["kind"] for e in fake.events.values()] == ["door_pulsed"]
    assert _unpushed(locks) == 0


def test_events__more_than_one_batch__are_all_pushed_oldest_first(
    locks: Locks, hub: tuple[FakeHub, ServerThread]
) -> None:
    fake, server = hub
    for i in range(205):
        locks.client.post(
            f"/locks/v1/doors/{DOOR}/pulse", json={"ref": f"rsv_{i:03d}"}, headers=locks.auth
        )
        locks.clock.advance(timedelta(seconds=1))
    _link(locks, server)
    locks.ctx.worker.run_pending()
    assert len(fake.events) == 205
    assert _unpushed(locks) == 0
    refs = [e["ref"] for e in sorted(fake.events.values(), key=lambda e: e["at"])]
    assert refs == [f"rsv_{i:03d}" for i in range(205)]


def test_events__many_while_the_hub_is_down__queue_one_push_that_sends_them_all(
    locks: Locks, hub: tuple[FakeHub, ServerThread]
) -> None:
    fake, server = hub
    _link(locks, server)
    server.stop()
    for _ in range(30):  # someone tries codes at the door (and gets locked out)
        locks.keypad("135790")
    locks.ctx.worker.run_pending()
    with locks.ctx.database.transaction() as session:
        assert locks.ctx.jobs.pending_count(session, "push_events") == 1

    server.start()
    locks.clock.advance(timedelta(minutes=10))
    locks.ctx.worker.run_pending()
    assert len(fake.authorizations) == 1  # one request carried them all:
    # Five wrong codes, the lock-out and one refusal for the lock-out period (not 25).
    assert len(fake.events) == 7
    assert _unpushed(locks) == 0


def test_events__refused_token__are_pushed_by_the_sweep_once_the_link_is_mended(
    locks: Locks, hub: tuple[FakeHub, ServerThread]
) -> None:
    fake, server = hub
    with locks.ctx.database.transaction() as session:
        set_hub_link(
            locks.ctx,
            session,
            controller_id=locks.controller_id,
            hub_events_url=f"{server.base_url}/hub/v1/controller-events",
            hub_events_token="a-rotated-token",
        )
    locks.keypad("135790")
    locks.ctx.worker.run_pending()
    assert fake.events == {} and _unpushed(locks) == 1

    _link(locks, server)  # an operator sets the right token
    locks.clock.advance(timedelta(minutes=1))
    locks.ctx.worker.run_pending()
    assert len(fake.events) == 1
    assert _unpushed(locks) == 0
