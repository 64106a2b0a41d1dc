"""The case officer's desk in a real browser: a guest asks for the demo hall (set up to need
approval), the demo's case officer signs in at /login, finds the request under Requests and
approves it; the pipeline grants the key, the reservation's page shows its code, and the code
opens the door when the booking begins."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from hallkey.booking import issue_api_token
from hallkey.booking.models import Tenant
from tests.conftest import DatabaseUrlFactory
from tests.e2e.harness import Deployment, deployment
from tests.e2e.test_keys import CUSTOMER, END, NOW, START, iso
from tests.servers import wait_for


@pytest.fixture
def combined(database_url: DatabaseUrlFactory, tmp_path: Path) -> Iterator[Deployment]:
    with deployment("combined", database_url, tmp_path / "var", NOW) as deployed:
        yield deployed


def needs_approval(d: Deployment, resource_id: str) -> None:
    """Makes the resource take requests only, through the set-up API."""
    assert d.contexts.booking is not None
    with d.contexts.booking.database.transaction() as session:
        tenant_id = session.scalars(select(Tenant.id).where(Tenant.slug == "demo")).one()
        token = issue_api_token(
            d.contexts.booking, session, tenant_id=tenant_id, name="setup", scopes=["setup"]
        )
    with httpx.Client(
        base_url=d.urls.booking, headers={"Authorization": f"Bearer {token}"}, timeout=10
    ) as setup:
        changed = setup.patch(f"/api/v1/resources/{resource_id}", json={"approval_required": True})
    assert changed.status_code == 200, changed.text


def reservation(d: Deployment, reservation_id: str) -> dict[str, Any]:
    with d.booking() as api:
        found: dict[str, Any] = api.get(f"/api/v1/reservations/{reservation_id}").json()
    return found


def test_desk__officer_approves_a_request_and_the_guest_gets_a_key(
    combined: Deployment, desktop: Page
) -> None:
    d = combined
    hall = d.demo["resources"][0]
    needs_approval(d, hall["id"])
    with d.booking() as api:
        asked = api.post(
            "/api/v1/reservations",
            json={
                "resource_id": hall["id"],
                "start": iso(START),
                "end": iso(END),
                "customer": CUSTOMER,
            },
        )
    assert asked.status_code == 201, asked.text
    request = asked.json()
    assert request["status"] == "requested"
    officer = next(s for s in d.demo["staff"] if s["username"] == "saksbehandler")

    desktop.goto(f"{d.urls.booking}/admin")
    expect(desktop).to_have_url(f"{d.urls.booking}/login?next=/admin")
    desktop.get_by_label("Brukernavn").fill(officer["username"])
    desktop.get_by_label("Passord").fill(officer["password"])
    desktop.get_by_role("button", name="Logg inn").click()
    expect(desktop).to_have_url(f"{d.urls.booking}/admin/requests")

    card = desktop.locator(f'li[data-reservation="{request["id"]}"]')
    expect(card).to_contain_text(hall["name"])
    expect(card).to_contain_text(CUSTOMER["name"])
    expect(card).to_contain_text("18:30\u201319:30")  # 17:30Z on the venue's clock (Oslo)
    card.get_by_role("button", name="Godkjenn").click()

    expect(desktop.get_by_role("status")).to_contain_text(f"Godkjent: {hall['name']}")
    expect(desktop.locator(f'li[data-reservation="{request["id"]}"]')).to_have_count(0)
    expect(desktop.get_by_text("Ingen forespørsler venter.")).to_be_visible()

    # The pipeline grants the key: the hub programs the doors, the booking shows the code.
    wait_for(lambda: reservation(d, request["id"])["access"]["state"] == "granted", timeout=30)
    wait_for(lambda: d.door_states(request["ref"]) == {"programmed"}, timeout=30)
    access = reservation(d, request["id"])["access"]
    desktop.goto(f"{d.urls.booking}/admin/reservations/{request['id']}")
    expect(desktop.locator("h1")).to_contain_text(hall["name"])
    expect(desktop.get_by_text("Gitt")).to_be_visible()
    expect(desktop.locator("code.secret")).to_have_text(access["code_formatted"])
    expect(desktop.get_by_text("saksbehandler", exact=False).first).to_be_visible()

    # The guest's code opens the door once the booking has begun.
    d.clock.set(START)
    with d.locks() as locks:
        typed = locks.post(
            f"/locks/v1/doors/{hall['doors'][0]}/keypad", json={"code": access["code_formatted"]}
        )
    assert typed.json() == {"granted": True, "ref": request["ref"]}
