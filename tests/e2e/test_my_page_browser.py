"""A customer's own page in a real browser, on a phone: the demo customer signs in with the
link from the booking's outbox, sees the code of their booking in large digits, the code
opens the door at the keypad, and after a cancel on `/my` it no longer does."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import DatabaseUrlFactory
from tests.e2e.harness import Deployment, deployment
from tests.e2e.test_keys import END, NOW, START, iso
from tests.servers import wait_for

TOKEN = re.compile(r"/login\?token=([A-Za-z0-9_-]+)")


@pytest.fixture
def combined(database_url: DatabaseUrlFactory, tmp_path: Path) -> Iterator[Deployment]:
    with deployment("combined", database_url, tmp_path / "var", NOW) as deployed:
        yield deployed


def _reservation(d: Deployment, reservation_id: str) -> dict[str, Any]:
    with d.booking() as api:
        response = api.get(f"/api/v1/reservations/{reservation_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _keypad(d: Deployment, door: str, code: str) -> dict[str, Any]:
    with d.locks() as api:
        response = api.post(f"/locks/v1/doors/{door}/keypad", json={"code": code})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _sign_in_link(d: Deployment) -> str | None:
    folder = d.settings.outbox_dir / "booking"
    for mail in sorted(folder.glob("*.txt")) if folder.exists() else []:
        found = TOKEN.search(mail.read_text())
        if found:
            return found.group(1)
    return None


def test_my_page__customer_on_a_phone__signs_in_sees_the_code_opens_the_door_and_cancels(
    combined: Deployment, phone: Page
) -> None:
    d = combined
    hall = d.demo["resources"][0]  # open around the clock, confirmed at once, a PIN
    door = hall["doors"][0]
    with d.booking() as api:
        response = api.post(
            "/api/v1/reservations",
            json={
                "resource_id": hall["id"],
                "start": iso(START),
                "end": iso(END),
                "customer": {
                    "name": "Idrettslaget Demo",
                    "phone": "+47 912 34 567",
                    "email": d.demo["customer"]["email"],
                },
            },
        )
    assert response.status_code == 201, response.text
    created = response.json()
    wait_for(lambda: _reservation(d, created["id"])["access"]["state"] == "granted", timeout=30)
    wait_for(lambda: d.door_states(created["ref"]) == {"programmed"}, timeout=30)
    typed = _reservation(d, created["id"])["access"]["code_formatted"]

    # /my sends a visitor to sign in; the customer asks for a link by e-mail.
    phone.goto(f"{d.urls.booking}/my")
    expect(phone).to_have_url(re.compile(r"/login\?next=/my&for=customer$"))
    expect(phone.get_by_label("E-postadresse")).to_be_focused()
    phone.get_by_label("E-postadresse").fill(d.demo["customer"]["email"])
    phone.get_by_role("button", name="Send meg en innloggingslenke").click()
    expect(phone.get_by_role("status")).to_contain_text("er en innloggingslenke på vei")
    wait_for(lambda: _sign_in_link(d) is not None, timeout=30, interval=0.2)

    phone.goto(f"{d.urls.booking}/login?token={_sign_in_link(d)}")
    phone.get_by_role("button", name="Logg inn og se bookingene mine").click()
    expect(phone).to_have_url(f"{d.urls.booking}/my")
    expect(phone.get_by_role("heading", name="Mine bookinger", level=1)).to_be_visible()
    booking = phone.locator(f'article[data-reservation="{created["id"]}"]')
    code = booking.locator(".pin")
    expect(code).to_have_text(typed)
    assert float(code.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")) >= 40
    expect(booking).to_contain_text("Tast koden på tastaturet ved døren")
    box = code.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390  # fits the phone

    # Inside the access window (15 minutes before), before the start: the code opens the door.
    d.clock.set(START - timedelta(minutes=10))
    wait_for(lambda: _keypad(d, door, typed).get("granted") is True, timeout=10, interval=1.5)

    # Cancelling on /my: the terms, then the confirmation page, then the code stops working.
    booking.get_by_role("link", name="Avbestill").click()
    expect(phone.get_by_role("heading", name="Vil du avbestille?")).to_be_visible()
    phone.get_by_role("button", name="Ja, avbestill").click()
    expect(phone.get_by_role("status")).to_have_text("Reservasjonen er avbestilt.")
    expect(booking).to_contain_text("Avbestilt")
    expect(booking.locator(".pin")).to_have_count(0)
    wait_for(lambda: _keypad(d, door, typed).get("reason") == "revoked", timeout=20, interval=1.5)
