"""The caretaker's and the admin's pages in a real browser, on a running demo deployment: the
demo caretaker opens a booking's door from `/admin/today` and later sees the booking nobody came
to as a no-show on `/admin/usage`; the demo admin changes a resource's rule through its form."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import DatabaseUrlFactory
from tests.e2e.harness import Deployment, deployment
from tests.e2e.test_keys import CUSTOMER, END, NOW, START, _door, _granted, iso
from tests.servers import wait_for

LATER = (START + timedelta(hours=3), END + timedelta(hours=3))
"""A second booking of the same evening, which nobody comes to."""


@pytest.fixture
def combined(database_url: DatabaseUrlFactory, tmp_path: Path) -> Iterator[Deployment]:
    # A caretaker's page stays open all evening: the idle sign-in outlasts the story's clock.
    with deployment(
        "combined", database_url, tmp_path / "var", NOW, staff_session_idle_minutes=24 * 60
    ) as deployed:
        yield deployed


def _book(d: Deployment, resource_id: str, start: str, end: str) -> dict[str, Any]:
    with d.booking() as api:
        answer = api.post(
            "/api/v1/reservations",
            json={"resource_id": resource_id, "start": start, "end": end, "customer": CUSTOMER},
        )
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


def _sign_in(d: Deployment, page: Page, username: str) -> None:
    passwords = {member["username"]: member["password"] for member in d.demo["staff"]}
    page.goto(f"{d.urls.booking}/login?next=/admin/today")
    page.get_by_label("Brukernavn").fill(username)
    page.get_by_label("Passord").fill(passwords[username])
    page.get_by_role("button", name="Logg inn").click()


def test_caretaker__opens_a_door_from_today__and_sees_the_no_show_in_usage(
    combined: Deployment, phone: Page
) -> None:
    d = combined
    resource = d.demo["resources"][0]
    door = resource["doors"][0]
    used = _book(d, resource["id"], iso(START), iso(END))
    missed = _book(d, resource["id"], iso(LATER[0]), iso(LATER[1]))
    _granted(d, used)

    _sign_in(d, phone, "vaktmester")
    expect(phone).to_have_url(f"{d.urls.booking}/admin/today")
    row = phone.locator(f'li[data-reservation="{used["id"]}"]').first
    expect(row).to_contain_text(resource["name"])
    expect(row).to_contain_text("18:30\u201319:30")  # 17:30Z in Oslo (winter time)
    expect(row).to_contain_text("klar")
    expect(phone.locator(f'li[data-reservation="{missed["id"]}"]').first).to_be_visible()
    expect(row.get_by_role("button", name=f"Åpne døren {door}")).to_have_count(0)

    d.clock.set(START - timedelta(minutes=5))  # inside the access window (15 minutes before)
    phone.reload()
    row.get_by_role("button", name=f"Åpne døren {door}").click()
    expect(phone.get_by_role("status")).to_contain_text(f"Døren {door} er åpen til")
    opened = _door(d, door)
    assert opened["locked"] is False and opened["unlocked_until"] is not None

    # The evening passes; nobody comes to the second booking.
    d.clock.set(LATER[1] + timedelta(minutes=20))
    for worker in d.contexts.workers():
        worker.queue.wakeup.set()
    phone.get_by_role("link", name="Bruk").click()
    no_show = phone.locator(f'li[data-reservation="{missed["id"]}"]')
    expect(no_show).to_be_visible()
    expect(no_show).to_contain_text(resource["name"])
    totals = phone.locator("tr[data-total] td")
    expect(totals.nth(0)).to_have_text("2 (2)")  # booked: two hours, two bookings
    expect(totals.nth(2)).to_have_text("1 (1)")  # no-show: one hour, one booking
    wait_for(lambda: _door(d, door)["locked"] is True, timeout=10)


def test_admin__changes_a_resources_rule__and_the_api_shows_it(
    combined: Deployment, desktop: Page
) -> None:
    d = combined
    resource = d.demo["resources"][1]
    _sign_in(d, desktop, "admin")
    desktop.goto(f"{d.urls.booking}/admin/resources")
    desktop.get_by_role("link", name=resource["name"]).click()
    # (A refused form answers 422, which the browser logs as an error: the page tests cover it.)
    desktop.get_by_label("Tidsluke (minutter)").fill("30")
    desktop.get_by_label("Buffer mellom bookinger (minutter)").fill("30")
    desktop.get_by_label("Stengte perioder").fill("2026-12-24 2026-12-26 Jul")
    desktop.get_by_role("button", name="Lagre reglene").click()
    expect(desktop.get_by_role("status")).to_have_text("Lagret.")

    with d.booking() as api:
        listed = api.get("/api/v1/resources").json()
    shown = next(r for r in listed if r["id"] == resource["id"])
    assert shown["buffer_minutes"] == 30 and shown["slot_minutes"] == 30, shown
    assert shown["closed_periods"] == [{"from": "2026-12-24", "to": "2026-12-26", "reason": "Jul"}]
