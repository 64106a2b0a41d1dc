"""`hallkey serve --demo` as a new user meets it: every demo resource booked through the API
opens its door with its own kind of key (PIN, URL key, mobile key, a public event's unlock).

One real process on the real clock, SQLite files in its data folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.test_keys import _press_open
from tests.servers import free_port, healthy, stop_processes, wait_for

pytestmark = pytest.mark.slow
CUSTOMER = {"name": "Demo Bruker", "phone": "+4798765431", "email": "demo@example.org"}


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, Any]]]:
    data_dir = tmp_path_factory.mktemp("demo")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HALLKEY_")}
    env |= {"HALLKEY_SECRET_KEY": "demo-keys-test", "HALLKEY_WORKER_POLL_SECONDS": "0.1"}
    port = free_port()
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "hallkey.cli", "serve", "--demo"),
            *("--port", str(port), "--data-dir", str(data_dir)),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: healthy(base), timeout=90, interval=0.2)
        yield base, json.loads((Path(data_dir) / "demo.json").read_text())
    finally:
        stop_processes([process])


def _resource(demo: dict[str, Any], word: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [r for r in demo["resources"] if word in r["name"]]
    assert len(found) == 1
    return found[0]


def _book(base: str, demo: dict[str, Any], resource: dict[str, Any]) -> dict[str, Any]:
    """Books `resource` from in 5 minutes for an hour; returns its access once granted."""
    now = datetime.now(UTC).replace(microsecond=0)
    with httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {demo['booking_api_token']}"}
    ) as api:
        created = api.post(
            "/api/v1/reservations",
            json={
                "resource_id": resource["id"],
                "start": iso(now + timedelta(minutes=5)),
                "end": iso(now + timedelta(minutes=65)),
                "customer": CUSTOMER,
            },
        )
        assert created.status_code == 201, created.text
        assert created.json()["status"] == "confirmed"
        rid = created.json()["id"]

        def access() -> dict[str, Any]:
            body: dict[str, Any] = api.get(f"/api/v1/reservations/{rid}").json()["access"]
            return body

        wait_for(lambda: access()["state"] == "granted", timeout=30)
        shown = access()
    ref = created.json()["ref"]
    with httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {demo['hub_api_key']}"}
    ) as hub:

        def programmed() -> bool:
            grant = hub.get(f"/hub/v1/grants/{ref}")
            return grant.is_success and {d["state"] for d in grant.json()["doors"]} == {
                "programmed"
            }

        # Never wait on the keypad: codes typed before the door holds them lock it out.
        wait_for(programmed, timeout=30)
    return shown | {"ref": ref}


def _locks(base: str, demo: dict[str, Any]) -> httpx.Client:
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {demo['locks_api_key']}"})


def test_demo__first_resource_is_still_the_24_7_pin_hall(
    served: tuple[str, dict[str, Any]],
) -> None:
    base, demo = served
    first = demo["resources"][0]
    assert first["name"] == "Gymsal (døgnåpen)"
    access = _book(base, demo, first)
    assert access["credential"] == "pin"
    with _locks(base, demo) as locks:
        for door in first["doors"]:
            typed = locks.post(
                f"/locks/v1/doors/{door}/keypad", json={"code": access["code_formatted"]}
            )
            assert typed.json() == {"granted": True, "ref": access["ref"]}
    assert {d["id"] for d in demo["doors"]} >= {"lesesal", "ungdomsklubb", "storsal"}


def test_demo__url_key_resource__its_link_opens_the_door(
    served: tuple[str, dict[str, Any]],
) -> None:
    base, demo = served
    resource = _resource(demo, "URL-nøkkel")
    access = _book(base, demo, resource)
    assert access["credential"] == "url_key" and "/k/" in access["url"]
    door = resource["doors"][0]
    path = "/k/" + access["url"].rsplit("/k/", 1)[1]
    with httpx.Client(base_url=base, timeout=10) as page, _locks(base, demo) as locks:

        def opened() -> bool:
            _press_open(page, path, door)
            return locks.get(f"/locks/v1/doors/{door}").json()["locked"] is False

        # Pressed again only after a second: opens are limited to 10 a minute per grant.
        wait_for(opened, timeout=30, interval=1.0)


def test_demo__mobile_key_resource__the_controller_reader_accepts_it(
    served: tuple[str, dict[str, Any]],
) -> None:
    base, demo = served
    resource = _resource(demo, "mobilnøkkel")
    access = _book(base, demo, resource)
    assert access["credential"] == "mobile_key" and access["mobile_key"].count(".") == 2
    door = resource["doors"][0]
    with _locks(base, demo) as locks:

        def present(at: str) -> dict[str, Any]:
            answer = locks.post(
                f"/locks/v1/doors/{at}/mobile-key", json={"token": access["mobile_key"]}
            )
            body: dict[str, Any] = answer.json()
            return body

        assert present(door) == {"granted": True, "ref": access["ref"]}
        assert present("storsal") == {"granted": False, "reason": "wrong_door"}


def test_demo__public_event_resource__its_door_stands_unlocked_in_the_window(
    served: tuple[str, dict[str, Any]],
) -> None:
    base, demo = served
    resource = _resource(demo, "arrangement")
    door = resource["doors"][0]
    with _locks(base, demo) as locks:
        assert locks.get(f"/locks/v1/doors/{door}").json()["locked"] is True
        _book(base, demo, resource)  # from in 5 minutes; the doors open 15 minutes before

        def state() -> dict[str, Any]:
            body: dict[str, Any] = locks.get(f"/locks/v1/doors/{door}").json()
            return body

        wait_for(lambda: state()["locked"] is False, timeout=30)
        until = datetime.fromisoformat(state()["unlocked_until"].replace("Z", "+00:00"))
        assert until > datetime.now(UTC) + timedelta(minutes=60)
