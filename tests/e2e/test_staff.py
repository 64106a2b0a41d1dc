"""Staff end to end on real servers: the demo's staff (from demo.toml) sign in, a caretaker
reads its venue's booking and opens its door through the hub, and an admin disables it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from tests.conftest import DatabaseUrlFactory
from tests.e2e.harness import Deployment, deployment
from tests.e2e.test_keys import NOW, START, _book, _door, _granted


@pytest.fixture
def combined(database_url: DatabaseUrlFactory, tmp_path: Path) -> Iterator[Deployment]:
    with deployment("combined", database_url, tmp_path / "var", NOW) as deployed:
        yield deployed


def _signed_in(d: Deployment, username: str) -> httpx.Client:
    """Returns a browser-like client signed in as one of the demo's staff (cookie + CSRF)."""
    passwords = {member["username"]: member["password"] for member in d.demo["staff"]}
    browser = httpx.Client(base_url=d.urls.booking, timeout=10)
    answer = browser.post(
        "/api/v1/session", json={"username": username, "password": passwords[username]}
    )
    assert answer.status_code == 200, answer.text
    browser.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
    return browser


def test_staff__caretaker_reads_and_opens_its_venues_door__admin_disables_it(
    combined: Deployment,
) -> None:
    d = combined
    assert d.demo["admin"]["username"] == "admin"
    resource = d.demo["resources"][0]
    door = resource["doors"][0]
    created = _book(d, resource["id"])
    _granted(d, created)

    caretaker = _signed_in(d, "vaktmester")
    seen = caretaker.get(f"/api/v1/reservations/{created['id']}")
    assert seen.status_code == 200 and seen.json()["ref"] == created["ref"]
    assert caretaker.post(f"/api/v1/reservations/{created['id']}/cancel").status_code == 403
    # The PIN is valid from 15 minutes before the start: not yet.
    early = caretaker.post(f"/api/v1/reservations/{created['id']}/open", json={"door": door})
    assert early.status_code == 409 and early.json()["error"]["code"] == "not_valid_now"
    assert _door(d, door)["locked"] is True

    d.clock.set(START - timedelta(minutes=5))
    forged = httpx.post(
        f"{d.urls.booking}/api/v1/reservations/{created['id']}/open",
        json={"door": door},
        cookies=dict(caretaker.cookies),
    )
    assert forged.status_code == 403  # no CSRF token: another site's form cannot open it
    opened = caretaker.post(f"/api/v1/reservations/{created['id']}/open", json={"door": door})
    assert opened.status_code == 200, opened.text
    assert opened.json()["ref"] == created["ref"] and opened.json()["door"] == door
    assert _door(d, door)["locked"] is False
    wrong_door = caretaker.post(
        f"/api/v1/reservations/{created['id']}/open", json={"door": "moterom-1"}
    )
    assert wrong_door.status_code == 422 and wrong_door.json()["error"]["field"] == "door"

    admin = _signed_in(d, "admin")
    staff = {member["username"]: member for member in admin.get("/api/v1/staff").json()}
    assert staff["vaktmester"]["role"] == "caretaker"
    disabled = admin.patch(f"/api/v1/staff/{staff['vaktmester']['id']}", json={"disabled": True})
    assert disabled.status_code == 200
    assert caretaker.get(f"/api/v1/reservations/{created['id']}").status_code == 401
    for client in (caretaker, admin):
        client.close()
