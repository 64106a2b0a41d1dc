"""SMS access end to end: a booking of a resource set to `sms`, the message telling the guest
what to text where, a text through the gateway's webhook that pulses the door, the event back on
the reservation, and a cancel after which a text opens nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hallkey.hub.credentials.sms import door_keyword
from tests.conftest import DatabaseUrlFactory
from tests.e2e.harness import SMS_NUMBER, Deployment, deployment, sms_text
from tests.e2e.test_keys import (
    CUSTOMER,
    NOW,
    START,
    _book,
    _door,
    _events,
    _granted,
    _use_credential,
)
from tests.servers import wait_for


@pytest.fixture
def combined(database_url: DatabaseUrlFactory, tmp_path: Path) -> Iterator[Deployment]:
    with deployment("combined", database_url, tmp_path / "var", NOW) as deployed:
        yield deployed


def _text(d: Deployment, body: str) -> httpx.Response:
    """Posts the guest's text to the hub as the SMS gateway does (signed)."""
    return sms_text(d, CUSTOMER["phone"], body)


def _outbox(d: Deployment) -> str:
    folder = d.settings.outbox_dir
    return "\n".join(p.read_text() for p in sorted(folder.glob("*.txt"))) if folder.exists() else ""


def test_sms__booking_to_door_and_back__a_text_opens_in_the_window_and_not_after_cancel(
    combined: Deployment,
) -> None:
    d = combined
    resource_id = _use_credential(d, "sms")
    door = d.demo["resources"][0]["doors"][0]
    name = next(str(x["name"]) for x in d.demo["doors"] if x["id"] == door)
    keyword = door_keyword(name)

    created = _book(d, resource_id)
    access = _granted(d, created)

    assert access["credential"] == "sms"
    wait_for(lambda: SMS_NUMBER in _outbox(d) and keyword in _outbox(d), timeout=30)
    assert _text(d, keyword).json() == {"outcome": "not_valid"}  # before the window
    d.clock.set(START)
    opened = _text(d, keyword.lower())
    assert opened.status_code == 200, opened.text
    assert opened.json() == {"outcome": "opened"}
    assert _door(d, door)["locked"] is False
    wait_for(lambda: len(_events(d, created["id"], "door_pulsed")) == 1, timeout=30)
    assert _events(d, created["id"], "door_pulsed")[0]["door"] == door
    wait_for(lambda: "Døren er åpen nå" in _outbox(d), timeout=30)

    with d.booking() as api:
        assert api.post(f"/api/v1/reservations/{created['id']}/cancel").status_code == 200
    # Once the hub has revoked the grant (each text counts against the sender's rate).
    wait_for(lambda: d.door_states(created["ref"]) == {"revoked"}, timeout=30)
    assert _text(d, keyword).json() == {"outcome": "not_valid"}
    assert len(_events(d, created["id"], "door_pulsed")) == 1
