"""The public pages in a real browser: a guest on a phone finds the 24/7 hall on the front
page, picks a free time in its week, gets a field error for a bad phone number, books, and
sees the confirmation; the booking then gets its PIN from the hub."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import DatabaseUrlFactory
from tests.e2e.harness import Deployment, deployment
from tests.e2e.test_keys import NOW, _granted, _reservation


@pytest.fixture
def combined(database_url: DatabaseUrlFactory, tmp_path: Path) -> Iterator[Deployment]:
    with deployment("combined", database_url, tmp_path / "var", NOW) as deployed:
        yield deployed


def test_public_pages__guest_on_a_phone__books_the_24_7_hall_and_gets_a_pin(
    combined: Deployment, phone: Page
) -> None:
    d = combined
    hall = d.demo["resources"][0]  # open around the clock, confirmed at once, PIN

    response = phone.goto(d.urls.booking + "/")
    assert response is not None and response.status == 200
    expect(phone.locator("html")).to_have_attribute("lang", "nb")
    card = phone.locator(f'li.offer[data-resource="{hall["id"]}"]')
    expect(card).to_contain_text("PIN-kode")
    expect(card).to_contain_text("Bekreftes med en gang")
    card.get_by_role("link", name=hall["name"], exact=True).click()

    # NOW is Wednesday 25 November 2026, 18:00 in Oslo: the week starts today.
    expect(phone.get_by_role("heading", name=hall["name"])).to_be_visible()
    first_day = phone.locator("li.day").first
    expect(first_day).to_contain_text("onsdag 25. november 2026")
    expect(first_day.locator("li.free")).to_contain_text("18:00\u201324:00")
    first_day.get_by_role("link", name=re.compile("^Book fra 18:00")).click()

    expect(phone.get_by_label("Start")).to_have_value("2026-11-25T18:00")
    expect(phone.get_by_label("Slutt")).to_have_value("2026-11-25T19:00")
    phone.get_by_label("Navn").fill("Kari Nordmann")
    phone.get_by_label("Mobiltelefon").fill("12")
    phone.get_by_label("E-postadresse").fill("kari@example.org")
    phone.get_by_role("button", name="Book", exact=True).click()

    phone_field = phone.get_by_label("Mobiltelefon")
    expect(phone_field).to_have_attribute("aria-invalid", "true")
    expect(phone.locator("#f-phone-error")).to_contain_text("Skriv et gyldig telefonnummer")
    expect(phone.get_by_label("Navn")).to_have_value("Kari Nordmann")  # kept
    phone_field.fill("912 34 567")
    phone.get_by_role("button", name="Book", exact=True).click()

    expect(phone.get_by_role("heading", name="Bookingen er bekreftet")).to_be_visible()
    expect(phone.get_by_text("ons. 25. nov. 18:00\u201319:00")).to_be_visible()
    expect(phone.get_by_text("250,00\xa0kr")).to_be_visible()
    expect(phone.get_by_role("link", name="Logg inn og se bookingene mine")).to_have_attribute(
        "href", "/login?for=customer"
    )
    found = re.search(r"/reservations/([a-z0-9_]+)/confirmation", phone.url)
    assert found is not None, phone.url

    created = _reservation(d, found.group(1))
    assert created["status"] == "confirmed"
    access = _granted(d, created)
    assert access["credential"] == "pin" and access["code"]
