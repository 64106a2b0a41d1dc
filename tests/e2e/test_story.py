"""The walking skeleton's story, through HTTP, with one clock stepped across the window edges.

A customer books the around-the-clock demo hall; the code arrives by SMS and email; it opens
both doors only in [start - 15 min, end + 15 min); a move shifts the window; a cancel stops it.
Runs with the contexts combined in one server and split over three, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import DatabaseUrlFactory
from tests.e2e.harness import Deployment, Mode, deployment
from tests.servers import wait_for

NOW = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)
CUSTOMER = {"name": "Kari Nordmann", "phone": "+47 912 34 567", "email": "kari@example.org"}


@pytest.fixture(params=["combined", "split"])
def running(
    request: pytest.FixtureRequest, database_url: DatabaseUrlFactory, tmp_path: Path
) -> Iterator[Deployment]:
    mode: Mode = request.param
    with deployment(mode, database_url, tmp_path / "var", NOW) as deployed:
        yield deployed


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def book(d: Deployment, start: datetime, end: datetime, customer: dict[str, str]) -> Any:
    with d.booking() as api:
        response = api.post(
            "/api/v1/reservations",
            json={
                "resource_id": d.demo["resources"][0]["id"],
                "start": iso(start),
                "end": iso(end),
                "customer": customer,
            },
        )
    assert response.status_code == 201, response.text
    return response.json()


def reservation(d: Deployment, reservation_id: str) -> Any:
    with d.booking() as api:
        response = api.get(f"/api/v1/reservations/{reservation_id}")
    assert response.status_code == 200, response.text
    return response.json()


def keypad(d: Deployment, door: str, code: str) -> Any:
    with d.locks() as api:
        response = api.post(f"/locks/v1/doors/{door}/keypad", json={"code": code})
    assert response.status_code == 200, response.text
    return response.json()


def at(d: Deployment, moment: datetime, door: str, code: str) -> Any:
    d.clock.set(moment)
    return keypad(d, door, code)


def test_booking_becomes_a_pin_that_opens_its_doors_only_in_its_window(
    running: Deployment,
) -> None:
    d = running
    doors = d.demo["resources"][0]["doors"]
    assert len(doors) == 2
    start, end = NOW + timedelta(minutes=5), NOW + timedelta(minutes=65)

    created = book(d, start, end, CUSTOMER)
    assert created["status"] == "confirmed"
    assert created["ref"].startswith("rsv_")
    # How fast this happens is measured in bench/, not asserted here.
    wait_for(lambda: reservation(d, created["id"])["access"]["state"] == "granted", timeout=30)

    access = reservation(d, created["id"])["access"]
    code, typed = access["code"], access["code_formatted"]
    assert access["credential"] == "pin"
    assert len(code) == 6 and code.isdigit() and typed == f"{code}#"

    # The code lies in the local outbox, once by SMS and once by email.
    def outbox() -> list[Path]:
        # *.txt: a message being written is a temporary file until it is linked into place.
        return sorted((d.settings.outbox_dir).glob("*.txt"))

    wait_for(lambda: len(outbox()) == 2)
    assert {path.name.rsplit("-", 1)[-1] for path in outbox()} == {"sms.txt", "email.txt"}
    assert all(typed in path.read_text() for path in outbox())

    # Each door of the resource accepts it once programmed, with the reservation's ref.
    with d.hub() as hub:
        wait_for(
            lambda: all(
                door["state"] == "programmed"
                for door in hub.get(f"/hub/v1/grants/{created['ref']}").json()["doors"]
            )
        )
    for door in doors:
        assert keypad(d, door, typed) == {"granted": True, "ref": created["ref"]}
    assert keypad(d, doors[0], code)["granted"] is True  # the enter key may be left out
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    assert keypad(d, doors[0], wrong) == {"granted": False, "reason": "unknown_code"}

    # The door events come back to the booking, found by ref, oldest first.
    def granted_events() -> list[Any]:
        events = reservation(d, created["id"])["events"]
        return [e for e in events if e["kind"] == "access_granted"]

    wait_for(lambda: len(granted_events()) >= 3)
    events = reservation(d, created["id"])["events"]
    assert [e["at"] for e in events] == sorted(e["at"] for e in events)
    assert {e["door"] for e in granted_events()} == set(doors)

    # The window's edges, half-open: [start - 15 min, end + 15 min). After the events: work
    # queued while the clock stands elsewhere is due only once that time comes again.
    opens, closes = start - timedelta(minutes=15), end + timedelta(minutes=15)
    assert at(d, opens - timedelta(seconds=1), doors[1], typed)["reason"] == "outside_window"
    assert at(d, opens, doors[1], typed)["granted"] is True
    assert at(d, closes - timedelta(seconds=1), doors[1], typed)["granted"] is True
    assert at(d, closes, doors[1], typed)["reason"] == "outside_window"
    d.clock.set(NOW)

    # A move to tomorrow: the code works in the new window only.
    new_start, new_end = start + timedelta(days=1), end + timedelta(days=1)
    with d.booking() as api:
        moved = api.patch(
            f"/api/v1/reservations/{created['id']}",
            json={"start": iso(new_start), "end": iso(new_end)},
        )
    assert moved.status_code == 200, moved.text
    # Shown again once the booking has heard the hub take the new time; the doors follow.
    wait_for(lambda: reservation(d, created["id"])["access"]["state"] == "granted")
    assert reservation(d, created["id"])["access"]["code"] == code
    wait_for(lambda: d.door_states(created["ref"]) == {"programmed"}, timeout=15)
    assert keypad(d, doors[0], typed).get("reason") == "outside_window"
    assert at(d, new_start, doors[0], typed)["granted"] is True
    assert at(d, new_start, doors[1], typed)["granted"] is True

    # A cancel stops the code at once, on every door.
    with d.booking() as api:
        assert api.post(f"/api/v1/reservations/{created['id']}/cancel").status_code == 200
    for door in doors:
        wait_for(
            lambda door=door: keypad(d, door, typed).get("reason") == "revoked",
            timeout=2,
            interval=0.25,
        )
    wait_for(lambda: reservation(d, created["id"])["access"]["state"] == "revoked")
    assert reservation(d, created["id"])["status"] == "cancelled"


def test_openapi_documents_and_health_answer_on_every_prefix(running: Deployment) -> None:
    d = running
    for base, path in (
        (d.urls.booking, "/api/openapi.json"),
        (d.urls.hub, "/hub/openapi.json"),
        (d.urls.locks, "/locks/openapi.json"),
    ):
        # The document is built on its first request (0.1-0.7 s of CPU on a quiet machine, the
        # booking's the largest); on a loaded CI runner beside the workers that took over 5 s.
        document = httpx.get(base + path, timeout=60).json()
        assert document["paths"], path
        assert httpx.get(base + "/healthz", timeout=10).status_code == 200
        assert "hallkey_http_request_seconds" in httpx.get(base + "/metrics", timeout=10).text
