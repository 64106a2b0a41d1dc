"""Door events reach the hub over real HTTP, and wait while it is down."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any

import pytest
from fastapi import FastAPI, Header
from fastapi.responses import JSONResponse
from prometheus_client import REGISTRY
from sqlalchemy import select

from hallkey.core.schemas import REF_PATTERN
from hallkey.locks import event_queries, set_hub_link
from hallkey.locks.models import Event
from tests.locks.conftest import DOOR, T0, Locks, window, z
from tests.servers import ServerThread

HUB_TOKEN = "hub-events-token-1"


EVENT_FIELDS = frozenset({"id", "door", "ref", "kind", "reason", "at"})
KINDS = frozenset({"access_granted", "access_denied", "door_pulsed", "keypad_locked_out"})


def _problem(event: object) -> str | None:
    """Returns the field for which the hub refuses an event, or None when it takes it."""
    if not isinstance(event, dict):
        return "event"
    unknown = sorted(set(event) - EVENT_FIELDS)
    if unknown:
        return str(unknown[0])
    ref = event.get("ref")
    checks = {
        "id": isinstance(event.get("id"), str),
        "door": isinstance(event.get("door"), str),
        "ref": ref is None or (isinstance(ref, str) and re.fullmatch(REF_PATTERN, ref) is not None),
        "kind": event.get("kind") in KINDS,
    }
    for name, good in checks.items():
        if not good:
            return name
    try:
        at = datetime.fromisoformat(str(event.get("at")).replace("Z", "+00:00"))
    except ValueError:
        return "at"
    return "at" if at.tzinfo is None else None


@dataclass
class FakeHub:
    """Speaks the hub's `POST /hub/v1/controller-events` (partial acceptance): each event is
    judged on its own, good ones are kept by id, bad ones listed in `rejected` by index and id.

    With `whole_batch` it answers as an older hub did: one bad event, 422 for the batch.
    """

    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    authorizations: list[str | None] = field(default_factory=list)
    batches: list[int] = field(default_factory=list)
    whole_batch: bool = False

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/hub/v1/controller-events")
        def controller_events(
            body: dict[str, Any], authorization: Annotated[str | None, Header()] = None
        ) -> JSONResponse:
            self.authorizations.append(authorization)
            if authorization != f"Bearer {HUB_TOKEN}":
                return JSONResponse({"error": {"code": "unauthorized"}}, status_code=401)
            events = body.get("events")
            if set(body) != {"events"} or not isinstance(events, list) or len(events) > 500:
                return JSONResponse(
                    {"error": {"code": "invalid", "message": "bad envelope", "field": "events"}},
                    status_code=422,
                )
            self.batches.append(len(events))
            rejected = [
                {
                    "index": index,
                    "id": event.get("id") if isinstance(event, dict) else None,
                    "code": "invalid",
                    "message": f"{problem} is not acceptable",
                    "field": problem,
                }
                for index, event in enumerate(events)
                if (problem := _problem(event)) is not None
            ]
            if rejected and self.whole_batch:
                where = f"events.{rejected[0]['index']}.{rejected[0]['field']}"
                error = {"code": "invalid", "message": "bad event", "field": where}
                return JSONResponse({"error": error}, status_code=422)
            refused = {item["index"] for item in rejected}
            for index, event in enumerate(events):
                if index not in refused:
                    self.events.setdefault(event["id"], event)  # idempotent by event id
            return JSONResponse({"accepted": len(events) - len(refused), "rejected": rejected})

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


LEGACY_REF = "rsv/legacy 1"
"""A ref stored before refs had one format: the hub refuses the event that carries it."""


def _legacy_event(locks: Locks) -> str:
    with locks.ctx.database.transaction() as session:
        event = event_queries.add_event(
            session, door_id=DOOR, kind="door_pulsed", at=locks.clock.now(), ref=LEGACY_REF
        )
        return event.id


def _pulse(locks: Locks, ref: str) -> None:
    response = locks.client.post(
        f"/locks/v1/doors/{DOOR}/pulse", json={"ref": ref}, headers=locks.auth
    )
    assert response.status_code == 200, response.text


def _quarantined(locks: Locks) -> dict[str, str | None]:
    with locks.ctx.database.transaction() as session:
        rows = session.scalars(select(Event).where(Event.quarantine_code.is_not(None))).all()
        return {row.id: row.quarantine_code for row in rows}


def _quarantined_total() -> float:
    return REGISTRY.get_sample_value("hallkey_locks_events_quarantined_total") or 0.0


def test_events__one_the_hub_rejects__is_quarantined_and_the_others_arrive(
    locks: Locks, hub: tuple[FakeHub, ServerThread], caplog: pytest.LogCaptureFixture
) -> None:
    fake, server = hub
    _link(locks, server)
    before = _quarantined_total()
    _pulse(locks, "rsv_a")
    bad = _legacy_event(locks)
    _pulse(locks, "rsv_b")
    with caplog.at_level(logging.WARNING, logger="hallkey.locks"):
        locks.ctx.worker.run_pending()

    assert sorted(e["ref"] for e in fake.events.values()) == ["rsv_a", "rsv_b"]
    assert fake.batches == [3]
    assert _unpushed(locks) == 0  # the bad event blocks nothing
    assert _quarantined(locks) == {bad: "invalid"}
    assert _quarantined_total() == before + 1
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(bad in message and "invalid" in message for message in warnings), warnings
    assert not any(LEGACY_REF in message for message in warnings)

    _pulse(locks, "rsv_c")
    locks.ctx.worker.run_pending()
    assert fake.batches == [3, 1]  # the quarantined event is not sent again
    assert "rsv_c" in {e["ref"] for e in fake.events.values()}


def test_events__an_older_hub_refusing_the_whole_batch__is_halved_to_the_bad_event(
    locks: Locks, hub: tuple[FakeHub, ServerThread]
) -> None:
    fake, server = hub
    fake.whole_batch = True
    _link(locks, server)
    for i in range(5):
        _pulse(locks, f"rsv_{i}")
    bad = _legacy_event(locks)
    for i in range(5, 8):
        _pulse(locks, f"rsv_{i}")
    locks.ctx.worker.run_pending()

    assert sorted(e["ref"] for e in fake.events.values()) == [f"rsv_{i}" for i in range(8)]
    assert _unpushed(locks) == 0
    assert _quarantined(locks) == {bad: "invalid"}
    assert fake.batches[0] == 9
    assert len(fake.batches) <= 2 * 4 + 1  # halving, not one event at a time


def test_events__a_refusal_no_event_explains__quarantines_nothing_and_they_wait(
    locks: Locks, hub: tuple[FakeHub, ServerThread]
) -> None:
    fake, server = hub
    with locks.ctx.database.transaction() as session:
        set_hub_link(
            locks.ctx,
            session,
            controller_id=locks.controller_id,
            hub_events_url=f"{server.base_url}/hub/v1/no-such-path",  # answers 404
            hub_events_token=HUB_TOKEN,
        )
    _pulse(locks, "rsv_a")
    _pulse(locks, "rsv_b")
    locks.ctx.worker.run_pending()
    assert fake.events == {}
    assert _unpushed(locks) == 2
    assert _quarantined(locks) == {}

    _link(locks, server)  # an operator mends the link
    locks.clock.advance(timedelta(minutes=1))
    locks.ctx.worker.run_pending()
    assert len(fake.events) == 2 and _unpushed(locks) == 0
