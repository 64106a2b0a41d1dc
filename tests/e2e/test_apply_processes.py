"""`hallkey operator-key` and `hallkey apply` against three `hallkey serve --role` processes:
a municipality set up from nothing, with no demo, through the contexts' HTTP APIs."""

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

from tests.conftest import DatabaseUrlFactory
from tests.servers import free_port, healthy, stop_processes, wait_for

pytestmark = pytest.mark.slow
HALLKEY = [sys.executable, "-m", "hallkey.cli"]
FJELLBY = Path(__file__).parent / "fjellby.toml"
ROLES = ("booking", "hub", "locks")


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
def empty_processes(
    database_url: DatabaseUrlFactory, tmp_path: Path
) -> Iterator[tuple[dict[str, str], dict[str, str]]]:
    """Yields the URLs of three empty role processes and the env `hallkey apply` runs with."""
    data_dir = tmp_path / "var"
    env = {
        **os.environ,
        "HALLKEY_BOOKING_DATABASE_URL": database_url("booking"),
        "HALLKEY_HUB_DATABASE_URL": database_url("hub"),
        "HALLKEY_LOCKS_DATABASE_URL": database_url("locks"),
        "HALLKEY_SECRET_KEY": "apply-processes-secret",
        "HALLKEY_WORKER_POLL_SECONDS": "0.1",
        "HALLKEY_DATA_DIR": str(data_dir),
    }
    urls = {role: f"http://127.0.0.1:{free_port()}" for role in ROLES}
    operator_env = {**env, "FJELLBY_ADMIN_PASSWORD": "fjellby admin passphrase"}
    for role in ROLES:
        made = subprocess.run(
            [*HALLKEY, "operator-key", "--role", role, "--name", "test operator"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        )
        key = made.stdout.strip()
        assert key.startswith(f"hk{role[0]}o_")
        operator_env[f"HALLKEY_{role.upper()}_OPERATOR_KEY"] = key
    processes = [
        subprocess.Popen(
            [*HALLKEY, "serve", "--role", role, "--port", url.rsplit(":", 1)[1]],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for role, url in urls.items()
    ]
    try:
        for url in urls.values():
            wait_for(lambda url=url: healthy(url), timeout=60, interval=0.2)
        yield urls, operator_env
    finally:
        stop_processes(processes)


def _apply(
    urls: dict[str, str], env: dict[str, str], *extra: str
) -> subprocess.CompletedProcess[str]:
    where = [f"--{role}-url={url}" for role, url in urls.items()]
    return subprocess.run(
        [*HALLKEY, "apply", str(FJELLBY), *where, *extra],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_apply__three_processes__dry_run_apply_again_and_a_booking_opens_the_door(
    empty_processes: tuple[dict[str, str], dict[str, str]], tmp_path: Path
) -> None:
    urls, env = empty_processes

    dry = _apply(urls, env, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "+ tenant 'fjellby'" in dry.stdout
    assert "+ door 'fjellhallen-inngang' at site 'Fjellhallen'" in dry.stdout
    assert "would be made, none was" in dry.stdout
    assert httpx.get(f"{urls['booking']}/api/v1/resources?tenant=fjellby").status_code == 404

    keys_file = tmp_path / "fjellby-keys.json"
    done = _apply(urls, env, "--keys-out", str(keys_file))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[:-2] == dry.stdout.splitlines()[:-1]
    assert keys_file.stat().st_mode & 0o777 == 0o600
    made: dict[str, Any] = json.loads(keys_file.read_text())
    keys = made["keys"]
    shown = [
        keys["hub_api_key"],
        *keys["controllers"].values(),
        *keys["booking_tokens"].values(),
        *keys["staff_passwords"].values(),
        env["FJELLBY_ADMIN_PASSWORD"],
    ]
    assert all(key not in done.stdout + done.stderr for key in shown)

    again = _apply(urls, env)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "no changes"
    for username, password in (
        ("ola", keys["staff_passwords"]["ola"]),
        ("kari.admin", env["FJELLBY_ADMIN_PASSWORD"]),
    ):
        signed = httpx.post(
            f"{urls['booking']}/api/v1/session",
            json={"tenant": "fjellby", "username": username, "password": password},
        )
        assert signed.status_code == 200, signed.text

    token = made["keys"]["booking_tokens"]["portal"]
    booking = httpx.Client(base_url=urls["booking"], headers={"Authorization": f"Bearer {token}"})
    hall = made["ids"]["resources"]["Fjellhallen, hall A"]
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=5)
    created = booking.post(
        "/api/v1/reservations",
        json={
            "resource_id": hall,
            "start": iso(start),
            "end": iso(start + timedelta(hours=1)),
            "customer": {"name": "Ola Nordmann", "phone": "+4798765432", "email": "o@example.org"},
        },
    )
    assert created.status_code == 201, created.text
    rid = created.json()["id"]
    hub_key = made["keys"]["hub_api_key"]
    hub = httpx.Client(base_url=urls["hub"], headers={"Authorization": f"Bearer {hub_key}"})

    def programmed() -> bool:
        answer = hub.get(f"/hub/v1/grants/{created.json()['ref']}")
        return answer.is_success and {d["state"] for d in answer.json()["doors"]} == {"programmed"}

    wait_for(programmed, timeout=30)
    wait_for(
        lambda: booking.get(f"/api/v1/reservations/{rid}").json()["access"]["state"] == "granted",
        timeout=30,
    )
    typed = booking.get(f"/api/v1/reservations/{rid}").json()["access"]["code_formatted"]
    controller_key = made["keys"]["controllers"]["Fjellhallen dørsentral"]
    locks = httpx.Client(
        base_url=urls["locks"], headers={"Authorization": f"Bearer {controller_key}"}
    )
    opened = locks.post("/locks/v1/doors/fjellhallen-inngang/keypad", json={"code": typed})
    assert opened.json() == {"granted": True, "ref": created.json()["ref"]}
    # The door event travels back: controller → hub → booking.
    wait_for(
        lambda: len(booking.get(f"/api/v1/reservations/{rid}").json()["events"]) >= 1, timeout=30
    )
    for client in (booking, hub, locks):
        client.close()


def test_apply__bad_file__names_each_problem_and_changes_nothing(
    empty_processes: tuple[dict[str, str], dict[str, str]], tmp_path: Path
) -> None:
    urls, env = empty_processes
    bad = tmp_path / "bad.toml"
    bad.write_text(
        FJELLBY.read_text()
        .replace('slug = "fjellby"', 'slug = "Fjellby!"')
        .replace("horizon_days = 180", "horizon_days = 180\nprice = 100")
        .replace('doors = ["fjellhallen-inngang"]', 'doors = ["nowhere"]')
    )
    where = [f"--{role}-url={url}" for role, url in urls.items()]
    result = subprocess.run(
        [*HALLKEY, "apply", str(bad), *where], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "tenant.slug" in result.stderr
    assert "venues.0.resources.0.price" in result.stderr
    assert httpx.get(f"{urls['booking']}/api/v1/resources?tenant=fjellby").status_code == 404
