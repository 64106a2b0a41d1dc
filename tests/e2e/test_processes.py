"""`hallkey serve --role …` three times: separate processes behave like the combined one.

Real processes, real clock, databases chosen by URL (SQLite files or PostgreSQL).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import DatabaseUrlFactory
from tests.servers import free_port, healthy, stop_processes, wait_for

pytestmark = pytest.mark.slow
HALLKEY = [sys.executable, "-m", "hallkey.cli"]


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
def three_processes(
    database_url: DatabaseUrlFactory, tmp_path: Path
) -> Iterator[tuple[dict[str, str], dict[str, Any]]]:
    data_dir = tmp_path / "var"
    env = {
        **os.environ,
        "HALLKEY_BOOKING_DATABASE_URL": database_url("booking"),
        "HALLKEY_HUB_DATABASE_URL": database_url("hub"),
        "HALLKEY_LOCKS_DATABASE_URL": database_url("locks"),
        "HALLKEY_SECRET_KEY": "processes-secret",
        "HALLKEY_WORKER_POLL_SECONDS": "0.1",
    }
    ports = {role: free_port() for role in ("booking", "hub", "locks")}
    urls = {role: f"http://127.0.0.1:{port}" for role, port in ports.items()}
    subprocess.run(
        [
            *HALLKEY,
            "demo",
            "--data-dir",
            str(data_dir),
            "--booking-url",
            urls["booking"],
            "--hub-url",
            urls["hub"],
            "--locks-url",
            urls["locks"],
        ],
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    demo = json.loads((data_dir / "demo.json").read_text())
    processes = [
        subprocess.Popen(
            [*HALLKEY, "serve", "--role", role, "--port", str(port), "--data-dir", str(data_dir)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for role, port in ports.items()
    ]
    try:
        for url in urls.values():
            wait_for(lambda url=url: healthy(url), timeout=60, interval=0.2)
        yield urls, demo
    finally:
        stop_processes(processes)


def test_three_role_processes_run_the_whole_story(
    three_processes: tuple[dict[str, str], dict[str, Any]],
) -> None:
    urls, demo = three_processes
    booking = httpx.Client(
        base_url=urls["booking"], headers={"Authorization": f"Bearer {demo['booking_api_token']}"}
    )
    locks = httpx.Client(
        base_url=urls["locks"], headers={"Authorization": f"Bearer {demo['locks_api_key']}"}
    )
    resource = demo["resources"][0]
    now = datetime.now(UTC).replace(microsecond=0)
    start, end = now + timedelta(minutes=5), now + timedelta(minutes=65)
    posted_at = time.monotonic()
    created = booking.post(
        "/api/v1/reservations",
        json={
            "resource_id": resource["id"],
            "start": iso(start),
            "end": iso(end),
            "customer": {
                "name": "Ola Nordmann",
                "phone": "+4798765432",
                "email": "ola@example.org",
            },
        },
    )
    assert created.status_code == 201, created.text
    rid = created.json()["id"]

    def access() -> Any:
        return booking.get(f"/api/v1/reservations/{rid}").json()["access"]

    wait_for(lambda: access()["state"] == "granted", timeout=10)
    assert time.monotonic() - posted_at < 3
    typed = access()["code_formatted"]

    def press(door: str) -> Any:
        return locks.post(f"/locks/v1/doors/{door}/keypad", json={"code": typed}).json()

    for door in resource["doors"]:
        # Slowly: a keypad takes 60 tries a minute, then answers 429 (no "granted").
        wait_for(lambda door=door: press(door).get("granted") is True, timeout=10, interval=0.5)
    wait_for(
        lambda: len(booking.get(f"/api/v1/reservations/{rid}").json()["events"]) >= 2, timeout=10
    )

    moved = booking.patch(
        f"/api/v1/reservations/{rid}",
        json={"start": iso(start + timedelta(days=2)), "end": iso(end + timedelta(days=2))},
    )
    assert moved.status_code == 200, moved.text
    wait_for(
        lambda: press(resource["doors"][0]).get("reason") == "outside_window",
        timeout=10,
        interval=0.5,
    )

    assert booking.post(f"/api/v1/reservations/{rid}/cancel").status_code == 200
    for door in resource["doors"]:
        wait_for(lambda door=door: press(door).get("reason") == "revoked", timeout=10, interval=0.5)
