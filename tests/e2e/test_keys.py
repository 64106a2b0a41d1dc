"""URL keys and mobile keys end to end: a booking of a resource set to that credential, the
key it shows, the door it opens (through the hub's pulse, or the controller's offline reader),
the event back on the reservation, and a cancel that stops it."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from hallkey.booking.models import Resource
from hallkey.booking.qr import qr_svg
from hallkey.hub.credentials.sms import door_keyword
from tests.conftest import DatabaseUrlFactory
from tests.e2e.harness import Deployment, deployment, sms_text
from tests.e2e.test_privacy import database_text
from tests.servers import wait_for

NOW = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)
START, END = NOW + timedelta(minutes=30), NOW + timedelta(minutes=90)
CUSTOMER = {"name": "Kari Nordmann", "phone": "+47 912 34 567", "email": "kari@example.org"}


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
def combined(database_url: DatabaseUrlFactory, tmp_path: Path) -> Iterator[Deployment]:
    with deployment("combined", database_url, tmp_path / "var", NOW) as deployed:
        yield deployed


@pytest.fixture
def split(database_url: DatabaseUrlFactory, tmp_path: Path) -> Iterator[Deployment]:
    with deployment("split", database_url, tmp_path / "var", NOW) as deployed:
        yield deployed


def _use_credential(d: Deployment, credential: str) -> str:
    """Sets the demo's first resource to open with `credential` (set-up); returns its id."""
    assert d.contexts.booking is not None
    resource_id = str(d.demo["resources"][0]["id"])
    with d.contexts.booking.database.transaction() as session:
        resource = session.get(Resource, resource_id)
        assert resource is not None
        resource.credential = credential
    return resource_id


def _book(d: Deployment, resource_id: str) -> dict[str, Any]:
    with d.booking() as api:
        response = api.post(
            "/api/v1/reservations",
            json={
                "resource_id": resource_id,
                "start": iso(START),
                "end": iso(END),
                "customer": CUSTOMER,
            },
        )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _reservation(d: Deployment, reservation_id: str) -> dict[str, Any]:
    with d.booking() as api:
        response = api.get(f"/api/v1/reservations/{reservation_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _granted(d: Deployment, created: dict[str, Any]) -> dict[str, Any]:
    wait_for(lambda: _reservation(d, created["id"])["access"]["state"] == "granted", timeout=30)
    wait_for(lambda: d.door_states(created["ref"]) == {"programmed"}, timeout=30)
    access: dict[str, Any] = _reservation(d, created["id"])["access"]
    return access


def _events(d: Deployment, reservation_id: str, kind: str) -> list[dict[str, Any]]:
    return [e for e in _reservation(d, reservation_id)["events"] if e["kind"] == kind]


def _door(d: Deployment, door: str) -> dict[str, Any]:
    with d.locks() as api:
        body: dict[str, Any] = api.get(f"/locks/v1/doors/{door}").json()
    return body


def _press_open(page: httpx.Client, path: str, door: str) -> httpx.Response:
    """Loads the page and presses Open for `door`. Without a button on the page (the key not
    valid now) the form is posted anyway with the page's CSRF cookie, as a page loaded earlier
    would: a refusal is then the key's, not the CSRF check's."""
    shown = page.get(path)
    form_csrf = re.search(r'name="csrf" value="([^"]+)"', shown.text)
    csrf = form_csrf.group(1) if form_csrf else page.cookies.get("hk_csrf", "")
    assert csrf, "the page set no CSRF cookie"
    action = re.search(r'<form method="post" action="([^"]+)"', shown.text)
    return page.post(
        action.group(1) if action else f"{path}/open",
        content=f"csrf={csrf}&door={door}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        follow_redirects=True,
    )


def test_url_key__booking_to_door_and_back__opens_in_its_window_and_stops_on_cancel(
    combined: Deployment,
) -> None:
    d = combined
    resource_id = _use_credential(d, "url_key")
    door = d.demo["resources"][0]["doors"][0]

    created = _book(d, resource_id)
    access = _granted(d, created)

    assert access["credential"] == "url_key" and "code" not in access
    path = "/k/" + access["url"].rsplit("/k/", 1)[1]
    with httpx.Client(base_url=d.urls.hub, timeout=10) as page:
        assert "Ikke åpen ennå" in page.get(path).text
        d.clock.set(START)
        opened = _press_open(page, path, door)
        assert opened.status_code == 200, opened.text
        assert _door(d, door)["locked"] is False
        wait_for(lambda: len(_events(d, created["id"], "door_pulsed")) == 1, timeout=30)
        assert _events(d, created["id"], "door_pulsed")[0]["door"] == door

        with d.booking() as api:
            assert api.post(f"/api/v1/reservations/{created['id']}/cancel").status_code == 200
        wait_for(lambda: "trukket tilbake" in page.get(path).text, timeout=30)
        refused = _press_open(page, path, door)
        assert refused.status_code == 403
        assert "the grant is revoked" in refused.text  # the key's refusal, not the form's
    assert len(_events(d, created["id"], "door_pulsed")) == 1


def test_mobile_key__booking_to_reader_and_back__opens_with_the_hub_down_until_revoked(
    split: Deployment,
) -> None:
    d = split
    resource_id = _use_credential(d, "mobile_key")
    door = d.demo["resources"][0]["doors"][0]

    created = _book(d, resource_id)
    access = _granted(d, created)
    token = access["mobile_key"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["sub"] == created["ref"] and door in claims["doors"]
    assert "Kari" not in str(claims) and "912" not in str(claims)
    with d.booking() as api:
        qr = api.get(f"/api/v1/reservations/{created['id']}/mobile-key.svg")
    assert qr.headers["content-type"].startswith("image/svg+xml")
    assert qr.text == qr_svg(token)  # which holds exactly the token (tests/booking/test_qr.py)

    def present() -> dict[str, Any]:
        with d.locks() as api:
            response = api.post(f"/locks/v1/doors/{door}/mobile-key", json={"token": token})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    assert present() == {"granted": False, "reason": "outside_window"}
    d.clock.set(START)
    d.stop("hub")
    assert present() == {"granted": True, "ref": created["ref"]}  # offline: no hub needed
    d.start("hub")
    wait_for(lambda: len(_events(d, created["id"], "access_granted")) == 1, timeout=30)

    with d.booking() as api:
        assert api.post(f"/api/v1/reservations/{created['id']}/cancel").status_code == 200
    wait_for(lambda: d.door_states(created["ref"]) == {"revoked"}, timeout=30)
    assert present() == {"granted": False, "reason": "revoked"}


@pytest.mark.parametrize("credential", ["url_key", "mobile_key", "sms"])
def test_key_credentials__whole_story__nothing_personal_at_the_door_and_no_key_in_logs(
    combined: Deployment, credential: str, caplog: pytest.LogCaptureFixture
) -> None:
    # The test's own HTTP client stands for the guest's phone, which logs the link it opens;
    # the servers' logs are what must hold no key. (DEBUG last: each `set_level` also sets the
    # capturing handler's level, which must let every record of the servers through.)
    caplog.set_level(logging.WARNING, logger="httpx")
    caplog.set_level(logging.WARNING, logger="httpcore")
    caplog.set_level(logging.DEBUG)
    d = combined
    resource_id = _use_credential(d, credential)
    door = d.demo["resources"][0]["doors"][0]
    planted = {"name": "Zebulon Quixwhistle", "phone": "+47 413 57 986", "email": "zq@example.net"}
    with d.booking() as api:
        response = api.post(
            "/api/v1/reservations",
            json={"resource_id": resource_id, "start": iso(START), "end": iso(END),
                  "customer": planted},
        )  # fmt: skip
    created = response.json()
    access = _granted(d, created)
    d.clock.set(START)
    if credential == "url_key":
        secret = access["url"].rsplit("/k/", 1)[1]
        with httpx.Client(base_url=d.urls.hub, timeout=10) as page:
            assert _press_open(page, f"/k/{secret}", door).status_code == 200
    elif credential == "sms":
        secret = "+4741357986"  # the sender's number is the credential
        name = next(str(x["name"]) for x in d.demo["doors"] if x["id"] == door)
        assert sms_text(d, planted["phone"], door_keyword(name)).json() == {"outcome": "opened"}
    else:
        secret = access["mobile_key"]
        with d.locks() as api:
            answer = api.post(f"/locks/v1/doors/{door}/mobile-key", json={"token": secret})
        assert answer.json()["granted"] is True
    with d.booking() as api:
        assert api.post(f"/api/v1/reservations/{created['id']}/cancel").status_code == 200
    wait_for(lambda: d.door_states(created["ref"]) == {"revoked"}, timeout=30)
    assert d.contexts.locks is not None and d.contexts.hub is not None

    at_door = database_text(d.contexts.locks.database)
    at_hub = database_text(d.contexts.hub.database)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert any(r.levelno < logging.WARNING and r.name.startswith("hallkey") for r in caplog.records)

    for needle in ("Zebulon", "Quixwhistle", "4741357986", "41357986", "zq@example"):
        assert needle not in at_door, needle
    assert "Zebulon" not in at_hub and "Quixwhistle" not in at_hub
    assert created["ref"] in at_door  # the ref is all the door knows
    assert secret not in at_door and secret not in at_hub  # the hub keeps no plain key
    assert secret not in logged and secret.split(".")[-1] not in logged
