"""Door events and grant states reach the booking system by the hub's webhook, over real HTTP:
`hallkey apply` (the demo) wires it, the booking verifies every message, and a grant revoked at
the hub shows at the booking without any poll. Combined in one server and split over three."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hallkey.hub.models import DoorEvent, WebhookMessage
from tests.conftest import DatabaseUrlFactory
from tests.e2e.harness import Deployment, Mode, deployment
from tests.e2e.test_story import CUSTOMER, NOW, book, reservation
from tests.servers import wait_for


@pytest.fixture(params=["combined", "split"])
def running(
    request: pytest.FixtureRequest, database_url: DatabaseUrlFactory, tmp_path: Path
) -> Iterator[Deployment]:
    mode: Mode = request.param
    with deployment(mode, database_url, tmp_path / "var", NOW) as deployed:
        yield deployed


def _book(d: Deployment) -> Any:
    return book(d, NOW + timedelta(minutes=5), NOW + timedelta(minutes=65), CUSTOMER)


def _hub_messages(d: Deployment, kind: str) -> list[tuple[str, str, dict[str, Any]]]:
    assert d.contexts.hub is not None
    with d.contexts.hub.database.read() as session:
        rows = session.scalars(select(WebhookMessage).where(WebhookMessage.type == kind))
        return [(m.id, m.state, dict(m.payload)) for m in rows]


def test_door_event__reaches_the_booking_by_the_verified_webhook(running: Deployment) -> None:
    d = running
    created = _book(d)
    wait_for(lambda: reservation(d, created["id"])["access"]["state"] == "granted", timeout=30)
    wait_for(lambda: d.door_states(created["ref"]) == {"programmed"}, timeout=30)
    code = reservation(d, created["id"])["access"]["code_formatted"]
    door = d.demo["resources"][0]["doors"][0]

    typed_at = time.monotonic()
    with d.locks() as locks:
        answer = locks.post(f"/locks/v1/doors/{door}/keypad", json={"code": code}).json()
    assert answer == {"granted": True, "ref": created["ref"]}
    wait_for(lambda: reservation(d, created["id"])["events"], timeout=15)
    seconds = time.monotonic() - typed_at

    events = reservation(d, created["id"])["events"]
    assert [(e["door"], e["kind"]) for e in events] == [(door, "access_granted")]
    # It came by the webhook, acknowledged, and the forwarding job never had it.
    sent = _hub_messages(d, "door.event")
    assert [(state, payload["ref"]) for _, state, payload in sent] == [
        ("delivered", created["ref"])
    ]
    assert d.contexts.hub is not None
    with d.contexts.hub.database.read() as session:
        stored = session.scalars(select(DoorEvent)).one()
        assert stored.id == sent[0][2]["id"] and stored.forward_error is None
    # Measured in bench/ on a quiet machine; here only a bound no poll could meet.
    assert seconds < 5, seconds


def test_grant_revoked_at_the_hub__booking_stops_showing_the_code_without_polling(
    running: Deployment,
) -> None:
    d = running
    created = _book(d)
    wait_for(lambda: reservation(d, created["id"])["access"]["state"] == "granted", timeout=30)
    shown = reservation(d, created["id"])
    assert shown["access"]["code"]
    # Revoked at the hub, not by the booking (as an operator or another tool of the client
    # would); the booking's worker is not asked to poll.
    with d.hub() as hub:
        response = hub.post("/hub/v1/RevokeAccess", json={"ref": created["ref"]})
    assert response.status_code == 200, response.text

    def shows_no_key() -> bool:
        access = reservation(d, created["id"])["access"]
        return access["state"] in ("revoked", "failed") and access.get("code") is None

    wait_for(shows_no_key, timeout=15)
    sent = _hub_messages(d, "grant.state")
    assert "revoked" in [payload["state"] for _, _, payload in sent]
    # Every grant state was acknowledged by the booking (none refused as unverified).
    wait_for(lambda: {state for _, state, _ in _hub_messages(d, "grant.state")} == {"delivered"})
