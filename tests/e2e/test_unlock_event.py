"""A public event: a resource set to unlock keeps its door open for the booking's frame, and
the controller locks it again at the end by itself — even with the hub down by then."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hallkey.booking import create_resource
from hallkey.booking.models import Resource
from tests.conftest import DatabaseUrlFactory
from tests.e2e.harness import Deployment, deployment
from tests.e2e.test_failures import catch_up
from tests.e2e.test_story import CUSTOMER, iso, reservation
from tests.servers import wait_for

NOW = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)
START, END = NOW + timedelta(hours=1), NOW + timedelta(hours=3)
# The demo widens a booking by 15 minutes on each side.
OPEN_FROM, OPEN_TO = START - timedelta(minutes=15), END + timedelta(minutes=15)


@pytest.fixture
def split(database_url: DatabaseUrlFactory, tmp_path: Path) -> Iterator[Deployment]:
    with deployment("split", database_url, tmp_path / "var", NOW) as deployed:
        yield deployed


def unlock_resource(d: Deployment, door: str) -> str:
    """Adds a resource set to unlock (a public event) behind `door` at the demo's venue."""
    booking = d.contexts.booking
    assert booking is not None
    with booking.database.transaction() as session:
        demo_hall = session.get(Resource, d.demo["resources"][0]["id"])
        assert demo_hall is not None
        return create_resource(
            booking,
            session,
            venue_id=demo_hall.venue_id,
            name="Open day",
            door_ids=[door],
            access_operation="unlock",
        )


def door(d: Deployment, door_id: str) -> Any:
    with d.locks() as api:
        response = api.get(f"/locks/v1/doors/{door_id}")
    assert response.status_code == 200, response.text
    return response.json()


def step_to(d: Deployment, moment: datetime) -> None:
    """Sets the one clock and wakes every running worker."""
    d.clock.set(moment)
    for worker in d.contexts.workers():
        worker.queue.wakeup.set()


def controller_kinds(d: Deployment, ref: str) -> list[str]:
    with d.locks() as api:
        events = api.get("/locks/v1/events", params={"ref": ref}).json()
    return [event["kind"] for event in events]


def kinds(d: Deployment, reservation_id: str) -> list[str]:
    return [event["kind"] for event in reservation(d, reservation_id)["events"]]


def test_unlock_resource__booking_to_open_door_and_back__locks_at_the_end_with_the_hub_down(
    split: Deployment,
) -> None:
    d = split
    door_id = d.demo["resources"][0]["doors"][0]
    resource_id = unlock_resource(d, door_id)
    with d.booking() as api:
        response = api.post(
            "/api/v1/reservations",
            json={"resource_id": resource_id, "start": iso(START), "end": iso(END),
                  "customer": CUSTOMER},
        )  # fmt: skip
    assert response.status_code == 201, response.text
    created = response.json()
    wait_for(lambda: reservation(d, created["id"])["access"]["state"] == "granted", timeout=15)
    wait_for(lambda: d.door_states(created["ref"]) == {"programmed"}, timeout=15)
    access = reservation(d, created["id"])["access"]
    assert "code" not in access  # nothing to hand out: the door stands open for everyone
    assert door(d, door_id)["locked"] is True

    step_to(d, OPEN_FROM)
    wait_for(lambda: door(d, door_id)["locked"] is False)
    assert door(d, door_id)["unlocked_until"] == iso(OPEN_TO)

    d.stop("hub")
    step_to(d, OPEN_TO)
    # The state follows the clock at once; the events come with the controller's worker.
    assert door(d, door_id)["locked"] is True
    wait_for(lambda: controller_kinds(d, created["ref"]) == ["unlocked", "locked"])

    d.start("hub")
    catch_up(d, lambda: kinds(d, created["id"]) == ["unlocked", "locked"])


def test_unlock_resource__cancelled_during_the_event__door_locks_at_once(
    split: Deployment,
) -> None:
    d = split
    door_id = d.demo["resources"][0]["doors"][0]
    resource_id = unlock_resource(d, door_id)
    with d.booking() as api:
        response = api.post(
            "/api/v1/reservations",
            json={"resource_id": resource_id, "start": iso(START), "end": iso(END),
                  "customer": CUSTOMER},
        )  # fmt: skip
    created = response.json()
    wait_for(lambda: d.door_states(created["ref"]) == {"programmed"}, timeout=15)
    step_to(d, START)
    wait_for(lambda: door(d, door_id)["locked"] is False)

    with d.booking() as api:
        assert api.post(f"/api/v1/reservations/{created['id']}/cancel").status_code == 200
    wait_for(lambda: door(d, door_id)["locked"] is True, timeout=15)
    assert reservation(d, created["id"])["access"]["state"] == "revoked"
    catch_up(d, lambda: kinds(d, created["id"]) == ["unlocked", "locked"])
