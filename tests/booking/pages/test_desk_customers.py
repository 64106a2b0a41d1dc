"""The customer pages of the desk: search, a customer's page, the export download (the API's
export) and erasure after a confirmation step (refused while bookings are open)."""

from __future__ import annotations

import json
from datetime import timedelta

from tests.booking.pages.desk_world import Desk


def test_search_and_the_customers_page(desk: Desk) -> None:
    kari = desk.book(desk.booking.resource_id, "2026-05-05T10:00:00Z", "2026-05-05T11:00:00Z")
    ola = desk.book(
        desk.booking.resource_id,
        "2026-05-05T12:00:00Z",
        "2026-05-05T13:00:00Z",
        name="Ola Hansen",
        email="ola@example.no",
        phone="412 34 568",
    )
    officer = desk.signed_in("officer")
    found = officer.get("/admin/customers", q="OLA@")
    assert found.status_code == 200
    assert f'data-customer="{ola["customer"]["id"]}"' in found.text
    assert f'data-customer="{kari["customer"]["id"]}"' not in found.text
    assert "Fant ingen leietakere." in officer.get("/admin/customers", q="nobody").text
    page = officer.get(f"/admin/customers/{ola['customer']['id']}")
    assert page.status_code == 200
    assert "Ola Hansen" in page.text and "ola@example.no" in page.text
    assert f"/admin/reservations/{ola['id']}" in page.text
    assert f"/admin/reservations/{kari['id']}" not in page.text
    assert officer.get("/admin/customers/cus_nobody").status_code == 404


def test_export__is_the_apis_export_as_a_download(desk: Desk) -> None:
    made = desk.book(desk.booking.resource_id, "2026-05-05T10:00:00Z", "2026-05-05T11:00:00Z")
    customer_id = made["customer"]["id"]
    officer = desk.signed_in("officer")
    download = officer.get(f"/admin/customers/{customer_id}/export")
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("application/json")
    assert download.headers["content-disposition"] == f'attachment; filename="{customer_id}.json"'
    assert json.loads(download.text) == desk.api(f"/api/v1/customers/{customer_id}")


def test_erase__asks_first__then_erases_and_keeps_the_reservations(desk: Desk) -> None:
    made = desk.book(desk.booking.resource_id, "2026-05-05T10:00:00Z", "2026-05-05T11:00:00Z")
    customer_id = made["customer"]["id"]
    officer = desk.signed_in("officer")
    ask = officer.get(f"/admin/customers/{customer_id}/erase")
    assert ask.status_code == 200
    assert "Slettes" in ask.text and "Beholdes" in ask.text and "Slett for godt" in ask.text
    # A booking not yet over: erasure is refused and nothing changes.
    refused = officer.post(f"/admin/customers/{customer_id}/erase", {})
    assert refused.status_code == 409 and 'role="alert"' in refused.text
    assert desk.api(f"/api/v1/customers/{customer_id}")["name"] == "Kari Nordmann"
    desk.booking.clock.advance(timedelta(days=2))
    officer = desk.signed_in("officer")  # the session of two days ago has expired
    erased = officer.post(f"/admin/customers/{customer_id}/erase", {})
    assert erased.status_code == 303
    assert erased.headers["location"] == f"/admin/customers/{customer_id}?done=erased"
    page = officer.get(erased.headers["location"])
    assert "Leietakerens personopplysninger er slettet." in page.text
    assert "Kari Nordmann" not in page.text and made["id"] in page.text
    export = desk.api(f"/api/v1/customers/{customer_id}")
    assert export["erased_at"] is not None and export["name"] is None
    assert [r["id"] for r in export["reservations"]] == [made["id"]]


def test_customer_pages__english(desk: Desk) -> None:
    officer = desk.signed_in("officer")
    page = officer.get("/admin/customers", lang="en")
    assert 'lang="en"' in page.text and "Search by name, organisation or e-mail" in page.text
    assert "Søk på navn" in officer.get("/admin/customers", lang="nb").text
