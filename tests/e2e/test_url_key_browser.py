"""The URL key's page in a real browser: a guest on a phone waits for the time, presses Open,
and the door opens; after a cancel the page says so and offers nothing to press."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import DatabaseUrlFactory
from tests.e2e.harness import Deployment, deployment
from tests.e2e.test_keys import NOW, START, _book, _door, _events, _granted, _use_credential
from tests.servers import wait_for


@pytest.fixture
def combined(database_url: DatabaseUrlFactory, tmp_path: Path) -> Iterator[Deployment]:
    with deployment("combined", database_url, tmp_path / "var", NOW) as deployed:
        yield deployed


def test_url_key_page__guest_on_a_phone__waits_presses_open_and_the_door_opens(
    combined: Deployment, phone: Page
) -> None:
    d = combined
    resource_id = _use_credential(d, "url_key")
    door = d.demo["resources"][0]["doors"][0]
    created = _book(d, resource_id)
    link = _granted(d, created)["url"]
    path = "/k/" + link.rsplit("/k/", 1)[1]

    response = phone.goto(d.urls.hub + path)
    assert response is not None and response.status == 200
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(phone.locator("html")).to_have_attribute("lang", "nb")
    expect(phone.get_by_text("Ikke åpen ennå")).to_be_visible()
    expect(phone.get_by_text(re.compile(r"Åpner om 15 minutter"))).to_be_visible()
    expect(phone.get_by_role("button")).to_have_count(0)

    d.clock.set(START)
    phone.reload()
    door_name = next(x["name"] for x in d.demo["doors"] if x["id"] == door)
    expect(phone.get_by_role("button", name=re.compile("^Åpne: "))).to_have_count(2)
    open_button = phone.get_by_role("button", name=f"Åpne: {door_name}")
    expect(open_button).to_be_visible()
    open_button.click()

    expect(phone.get_by_role("status")).to_contain_text("Døren er åpen til")
    assert _door(d, door)["locked"] is False
    wait_for(lambda: len(_events(d, created["id"], "door_pulsed")) == 1, timeout=30)

    with d.booking() as api:
        assert api.post(f"/api/v1/reservations/{created['id']}/cancel").status_code == 200

    def withdrawn() -> bool:
        phone.reload()
        return "trukket tilbake" in phone.content()

    wait_for(withdrawn, timeout=30)
    expect(phone.get_by_role("button")).to_have_count(0)


def test_url_key_page__in_english__by_the_language_link_and_remembered(
    combined: Deployment, desktop: Page
) -> None:
    d = combined
    created = _book(d, _use_credential(d, "url_key"))
    path = "/k/" + _granted(d, created)["url"].rsplit("/k/", 1)[1]

    desktop.goto(d.urls.hub + path)
    desktop.get_by_role("link", name="English").click()

    expect(desktop.locator("html")).to_have_attribute("lang", "en")
    expect(desktop.get_by_text("Not open yet")).to_be_visible()
    desktop.goto(d.urls.hub + path)  # the cookie remembers the choice
    expect(desktop.get_by_text("Opens in 15 minutes")).to_be_visible()
    desktop.keyboard.press("Tab")  # the first stop is the skip link, and it shows
    expect(desktop.get_by_role("link", name="Skip to content")).to_be_focused()
