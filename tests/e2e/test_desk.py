"""The approval desk and a customer's own sign-in, through real HTTP servers.

An organisation in a price group that requires approval books the demo hall: its request gets
no key. The case officer finds it in the list of requests, approves it (the key is programmed
on the doors) and denies a second one with a reason. The customer then asks for a sign-in
link, takes it from the booking system's outbox folder, signs in with it (a cookie) and sees
both reservations: the approved one with its code, the denied one with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from hallkey.booking import issue_api_token
from hallkey.booking.models import Tenant
from tests.conftest import DatabaseUrlFactory
from tests.e2e.harness import Deployment, deployment
from tests.servers import wait_for

NOW = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)
CLUB = {
    "kind": "organisation",
    "name": "Fjellby IL",
    "email": "styret@fjellby-il.example",
    "phone": "+47 912 34 569",
    "org_number": "974760673",
    "price_group": "club",
    "contacts": [{"name": "Siri Leder", "phone": "+47 913 57 986"}],
}


@pytest.fixture
def running(database_url: DatabaseUrlFactory, tmp_path: Path) -> Iterator[Deployment]:
    with deployment("combined", database_url, tmp_path / "var", NOW) as deployed:
        yield deployed


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def booking_body(d: Deployment, start: datetime) -> dict[str, Any]:
    return {
        "resource_id": d.demo["resources"][0]["id"],
        "start": iso(start),
        "end": iso(start + timedelta(hours=1)),
        "customer": {k: CLUB[k] for k in ("name", "phone", "email")},
    }


def outbox_token(d: Deployment) -> str:
    folder = d.settings.outbox_dir / "booking"
    texts = [p.read_text() for p in folder.glob("*.txt")] if folder.exists() else []
    # The booking's own emails (request received, approved…) lie beside the sign-in link.
    mails = [mail for mail in texts if "/login?token=" in mail]
    assert len(mails) == 1, mails
    found = re.search(r"/login\?token=([A-Za-z0-9_-]+)", mails[0])
    assert found is not None
    return found.group(1)


def test_desk__group_approval_decisions_and_the_customers_own_view(running: Deployment) -> None:
    d = running
    assert d.contexts.booking is not None
    with d.contexts.booking.database.transaction() as session:
        tenant_id = session.scalars(select(Tenant.id).where(Tenant.slug == "demo")).one()
        setup_token = issue_api_token(
            d.contexts.booking, session, tenant_id=tenant_id, name="setup", scopes=["setup"]
        )
    with (
        d.booking() as staff,
        httpx.Client(
            base_url=d.urls.booking, headers={"Authorization": f"Bearer {setup_token}"}
        ) as setup,
    ):
        group = setup.post(
            "/api/v1/price-groups",
            json={"key": "club", "name": "Lag og foreninger", "requires_approval": True},
        )
        assert group.status_code == 201, group.text
        registered = staff.post("/api/v1/customers", json=CLUB)
        assert registered.status_code == 201, registered.text

        first = staff.post("/api/v1/reservations", json=booking_body(d, NOW + timedelta(hours=1)))
        second = staff.post("/api/v1/reservations", json=booking_body(d, NOW + timedelta(hours=3)))
        assert (first.status_code, second.status_code) == (201, 201), (first.text, second.text)
        first_id, second_id = first.json()["id"], second.json()["id"]
        assert first.json()["status"] == second.json()["status"] == "requested"
        with d.hub() as hub:  # a request has no key at the hub
            assert hub.get(f"/hub/v1/grants/{first.json()['ref']}").status_code == 404

        requests = staff.get("/api/v1/reservations", params={"status": "requested"}).json()
        assert [item["id"] for item in requests["items"]] == [first_id, second_id]

        approved = staff.post(f"/api/v1/reservations/{first_id}/approve")
        assert approved.status_code == 200, approved.text
        denied = staff.post(
            f"/api/v1/reservations/{second_id}/deny",
            json={"reason": "Hallen er opptatt til kamp."},
        )
        assert denied.status_code == 200, denied.text
        assert denied.json()["decision"]["reason"] == "Hallen er opptatt til kamp."
        assert denied.json()["decision"]["by"].startswith("token:")
        wait_for(lambda: d.door_states(first.json()["ref"]) == {"programmed"}, timeout=30)
        assert staff.get("/api/v1/reservations", params={"status": "requested"}).json() == {
            "items": [],
            "next_cursor": None,
        }

    with httpx.Client(base_url=d.urls.booking, timeout=10) as browser:
        asked = browser.post(
            "/api/v1/customer-session/link", json={"email": CLUB["email"], "tenant": "demo"}
        )
        assert asked.status_code == 202
        wait_for(lambda: (d.settings.outbox_dir / "booking").exists(), timeout=10)
        wait_for(
            lambda: any(
                "/login?token=" in p.read_text()
                for p in (d.settings.outbox_dir / "booking").glob("*.txt")
            ),
            timeout=10,
        )
        signed = browser.post("/api/v1/customer-session", json={"token": outbox_token(d)})
        assert signed.status_code == 200, signed.text

        def mine() -> dict[str, Any]:
            listed = browser.get("/api/v1/me/reservations")
            assert listed.status_code == 200, listed.text
            return {item["id"]: item for item in listed.json()["items"]}

        wait_for(lambda: mine()[first_id]["access"]["state"] == "granted", timeout=30)
        seen = mine()
        assert seen[first_id]["status"] == "confirmed"
        assert re.fullmatch(r"\d+#?", seen[first_id]["access"]["code_formatted"])
        assert seen[second_id]["status"] == "denied"
        assert seen[second_id]["decision"]["reason"] == "Hallen er opptatt til kamp."
        assert "code" not in seen[second_id]["access"]
