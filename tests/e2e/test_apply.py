"""`hallkey apply` on a running deployment: a new municipality from a file, through the APIs.

Combined and split (three servers), on SQLite and PostgreSQL: a dry run changes nothing and
says what it would do, an apply makes it all, a second apply changes nothing, a booking on
the new municipality opens its door, and a resource removed from the file is deactivated.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from hallkey.app import issue_operator_key
from hallkey.apply import ApplyError, Endpoint, Outcome, apply_setup, parse_setup
from tests.conftest import DatabaseUrlFactory
from tests.e2e.harness import Deployment, Mode, deployment
from tests.servers import wait_for

NOW = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)
FJELLBY = (Path(__file__).parent / "fjellby.toml").read_text()
CUSTOMER = {"name": "Ola Nordmann", "phone": "+47 912 34 568", "email": "ola@example.org"}


@pytest.fixture(params=["combined", "split"])
def running(
    request: pytest.FixtureRequest, database_url: DatabaseUrlFactory, tmp_path: Path
) -> Iterator[Deployment]:
    mode: Mode = request.param
    with deployment(mode, database_url, tmp_path / "var", NOW) as deployed:
        yield deployed


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _client(url: str, key: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=10)


class Operator:
    """The operator's endpoints at each context of a deployment."""

    def __init__(self, d: Deployment) -> None:
        keys = {role: issue_operator_key(d.contexts, role, "test")[1] for role in _ROLES}
        self.booking = Endpoint(_client(d.urls.booking, keys["booking"]), d.urls.booking)
        self.hub = Endpoint(_client(d.urls.hub, keys["hub"]), d.urls.hub)
        self.locks = Endpoint(_client(d.urls.locks, keys["locks"]), d.urls.locks)

    def apply(
        self, text: str, *, dry_run: bool = False, environ: dict[str, str] | None = None
    ) -> Outcome:
        return apply_setup(
            parse_setup(text),
            booking=self.booking,
            hub=self.hub,
            locks=self.locks,
            dry_run=dry_run,
            generate_passwords=True,
            environ={"FJELLBY_ADMIN_PASSWORD": ADMIN_PASSWORD} if environ is None else environ,
        )

    def close(self) -> None:
        for endpoint in (self.booking, self.hub, self.locks):
            endpoint.client.close()


_ROLES: tuple[Any, ...] = ("booking", "hub", "locks")
ADMIN_PASSWORD = "fjellby admin passphrase"


@pytest.fixture
def operator(running: Deployment) -> Iterator[Operator]:
    made = Operator(running)
    try:
        yield made
    finally:
        made.close()


def _everything(op: Operator) -> dict[str, Any]:
    """Returns what the three contexts hold of set-up, as the operator sees it."""
    tenant = op.booking.client.get("/api/v1/tenants/fjellby")
    venues = op.booking.client.get("/api/v1/venues", params={"tenant": "fjellby"})
    staff = op.booking.client.get("/api/v1/staff", params={"tenant": "fjellby"})
    groups = op.booking.client.get("/api/v1/price-groups", params={"tenant": "fjellby"})
    return {
        "staff": staff.json() if staff.status_code == 200 else staff.status_code,
        "price_groups": groups.json() if groups.status_code == 200 else groups.status_code,
        "tenant": tenant.json() if tenant.status_code == 200 else tenant.status_code,
        "venues": venues.json() if venues.status_code == 200 else venues.status_code,
        "clients": op.hub.client.get("/hub/v1/operator/clients").json(),
        "sites": op.hub.client.get("/hub/v1/operator/sites").json(),
        "controllers": op.locks.client.get("/locks/v1/operator/controllers").json(),
    }


def test_apply__new_municipality__dry_run_then_apply_then_nothing_and_its_door_opens(
    running: Deployment, operator: Operator
) -> None:
    d, op = running, operator
    before = _everything(op)

    planned = op.apply(FJELLBY, dry_run=True)
    assert "+ tenant 'fjellby'" in planned.changes
    assert "+ resource 'Fjellhallen, hall A'" in planned.changes
    assert "+ price group 'business'" in planned.changes
    assert "+ controller 'Fjellhallen dørsentral'" in planned.changes
    assert planned.keys == {}
    assert _everything(op) == before

    done = op.apply(FJELLBY)
    assert done.changes == planned.changes
    assert set(done.keys) == {"hub_api_key", "controllers", "booking_tokens", "staff_passwords"}
    assert set(done.keys["staff_passwords"]) == {"ola"}  # the admin's came from the environment
    after = _everything(op)
    assert after != before
    # The hub client's webhook posts to this tenant's receiver, which holds its secret.
    assert after["tenant"]["has_hub_webhook_secret"] is True
    hooked = [c["webhook_url"] for c in after["clients"] if c["id"] == done.ids["hub_client"]]
    assert hooked == [f"{d.urls.booking}/api/v1/hub-webhook/fjellby"]
    assert [(g["key"], g["requires_approval"]) for g in after["price_groups"]] == [
        ("business", True),
        ("private", False),
    ]

    again = op.apply(FJELLBY)
    assert again.changes == []
    assert again.keys == {}
    assert op.apply(FJELLBY, dry_run=True).changes == []
    assert _everything(op) == after

    # A booking on the new municipality, with its own token, opens its own door.
    portal = _client(d.urls.booking, done.keys["booking_tokens"]["portal"])
    hall = done.ids["resources"]["Fjellhallen, hall A"]
    start = NOW + timedelta(minutes=5)
    created = portal.post(
        "/api/v1/reservations",
        json={
            "resource_id": hall,
            "start": iso(start),
            "end": iso(start + timedelta(hours=1)),
            "customer": CUSTOMER,
        },
    )
    assert created.status_code == 201, created.text
    booked = created.json()
    assert booked["status"] == "confirmed"
    # Priced as the file says: the default group, 300 kr an hour plus 25 % VAT.
    assert booked["price"] == {
        "group": "private",
        "unit": "hour",
        "net_ore": 30_000,
        "vat_ore": 7_500,
        "gross_ore": 37_500,
        "currency": "NOK",
        "vat_rate": "25",
    }
    quoted = httpx.get(
        f"{d.urls.booking}/api/v1/resources/{hall}/price",
        params={
            "tenant": "fjellby",
            "start": iso(start),
            "end": iso(start + timedelta(hours=2)),
            "group": "organisation",
        },
    )
    assert quoted.status_code == 200, quoted.text
    assert (quoted.json()["unit"], quoted.json()["gross_ore"]) == ("fixed", 120_000)
    # The meeting room's rules came with the file: Christmas Eve is closed.
    christmas_eve = datetime(2026, 12, 24, 9, 0, tzinfo=UTC)
    closed = portal.post(
        "/api/v1/reservations",
        json={
            "resource_id": done.ids["resources"]["Fjellhallen, møterom"],
            "start": iso(christmas_eve),
            "end": iso(christmas_eve + timedelta(hours=1)),
            "customer": CUSTOMER,
        },
    )
    assert closed.status_code == 422
    assert closed.json()["error"]["code"] == "closed_date"

    def door_states() -> set[str]:
        hub = _client(d.urls.hub, done.keys["hub_api_key"])
        with hub:
            response = hub.get(f"/hub/v1/grants/{booked['ref']}")
        return (
            {door["state"] for door in response.json()["doors"]} if response.is_success else set()
        )

    wait_for(lambda: door_states() == {"programmed"}, timeout=30)
    access = portal.get(f"/api/v1/reservations/{booked['id']}").json()["access"]
    assert access["state"] == "granted"
    controller_key = done.keys["controllers"]["Fjellhallen dørsentral"]
    with _client(d.urls.locks, controller_key) as locks:
        opened = locks.post(
            "/locks/v1/doors/fjellhallen-garderobe/keypad", json={"code": access["code_formatted"]}
        )
    assert opened.json() == {"granted": True, "ref": booked["ref"]}
    # The file's staff sign in: the caretaker of Fjellhallen reads the booking and its events.
    with httpx.Client(base_url=d.urls.booking, timeout=10) as browser:
        signed = browser.post(
            "/api/v1/session",
            json={
                "tenant": "fjellby",
                "username": "ola",
                "password": done.keys["staff_passwords"]["ola"],
            },
        )
        assert signed.status_code == 200, signed.text
        assert signed.json()["staff"]["role"] == "caretaker"
        seen = browser.get(f"/api/v1/reservations/{booked['id']}")
        assert seen.status_code == 200 and seen.json()["ref"] == booked["ref"]
        assert browser.post(f"/api/v1/reservations/{booked['id']}/cancel").status_code == 403
    with httpx.Client(base_url=d.urls.booking, timeout=10) as browser:
        admin = browser.post(
            "/api/v1/session",
            json={"tenant": "fjellby", "username": "kari.admin", "password": ADMIN_PASSWORD},
        )
        assert admin.status_code == 200 and admin.json()["staff"]["role"] == "admin"
    # The demo's controller knows nothing of Fjellby's doors.
    with d.locks() as demo_locks:
        assert demo_locks.get("/locks/v1/doors/fjellhallen-inngang").status_code == 404

    # The hall loses a door in the file: the booking's key follows, on the doors themselves.
    narrower = FJELLBY.replace(
        'doors = ["fjellhallen-inngang", "fjellhallen-garderobe"]',
        'doors = ["fjellhallen-inngang"]',
    )
    assert op.apply(narrower).changes == ["~ resource 'Fjellhallen, hall A': door_ids"]

    def by_door() -> dict[str, str]:
        with _client(d.urls.hub, done.keys["hub_api_key"]) as hub:
            grant = hub.get(f"/hub/v1/grants/{booked['ref']}").json()
        return {door["id"]: door["state"] for door in grant["doors"]}

    wanted = {"fjellhallen-inngang": "programmed", "fjellhallen-garderobe": "revoked"}
    wait_for(lambda: by_door() == wanted, timeout=30)
    wait_for(
        lambda: (
            portal.get(f"/api/v1/reservations/{booked['id']}").json()["access"]["state"]
            == "granted"
        ),
        timeout=30,
    )
    typed = portal.get(f"/api/v1/reservations/{booked['id']}").json()["access"]["code_formatted"]
    with _client(d.urls.locks, controller_key) as locks:
        at_garderobe = locks.post(
            "/locks/v1/doors/fjellhallen-garderobe/keypad", json={"code": typed}
        ).json()
        at_inngang = locks.post("/locks/v1/doors/fjellhallen-inngang/keypad", json={"code": typed})
    assert at_garderobe["granted"] is False
    assert at_inngang.json() == {"granted": True, "ref": booked["ref"]}
    portal.close()


def test_apply__edited_file__changes_only_the_edit_and_deactivates_a_removed_resource(
    running: Deployment, operator: Operator
) -> None:
    d, op = running, operator
    first = op.apply(FJELLBY)
    meeting_room = first.ids["resources"]["Fjellhallen, møterom"]
    edited = FJELLBY.replace("max_booking_minutes = 240", "max_booking_minutes = 180")
    edited = edited.replace("amount_ore = 30000", "amount_ore = 32000")
    edited = edited.replace('name = "Privatperson"', 'name = "Privat"')
    edited = edited[: edited.index('[[venues.resources]]\nname = "Fjellhallen, møterom"')]

    planned = op.apply(edited, dry_run=True)
    assert planned.changes == [
        "~ price group 'private': name",
        "~ resource 'Fjellhallen, hall A': max_booking_minutes, prices",
        "- resource 'Fjellhallen, møterom' deactivated (kept)",
    ]
    assert op.apply(edited).changes == planned.changes
    assert op.apply(edited).changes == []

    offered = httpx.get(f"{d.urls.booking}/api/v1/resources", params={"tenant": "fjellby"})
    assert [r["name"] for r in offered.json()] == ["Fjellhallen, hall A"]
    assert offered.json()[0]["max_booking_minutes"] == 180
    portal = _client(d.urls.booking, first.keys["booking_tokens"]["portal"])
    with portal:
        refused = portal.post(
            "/api/v1/reservations",
            json={
                "resource_id": meeting_room,
                "start": iso(NOW + timedelta(days=1)),
                "end": iso(NOW + timedelta(days=1, hours=1)),
                "customer": CUSTOMER,
            },
        )
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "resource_id"

    # Put back in the file, it is active again.
    assert op.apply(FJELLBY).changes == [
        "~ price group 'private': name",
        "~ resource 'Fjellhallen, hall A': max_booking_minutes, prices",
        "~ resource 'Fjellhallen, møterom': active",
    ]


def test_apply__controller_made_by_hand_before__gets_a_new_key_for_its_new_site(
    running: Deployment, operator: Operator
) -> None:
    d, op = running, operator
    made = op.locks.client.post(
        "/locks/v1/operator/controllers", json={"name": "Fjellhallen dørsentral"}
    ).json()

    done = op.apply(FJELLBY)
    assert "~ controller 'Fjellhallen dørsentral': new locks API key for its site" in done.changes
    assert "+ controller 'Fjellhallen dørsentral'" not in done.changes
    new_key = done.keys["controllers"]["Fjellhallen dørsentral"]
    with _client(d.urls.locks, made["api_key"]) as old, _client(d.urls.locks, new_key) as new:
        assert old.get("/locks/v1/doors").status_code == 401
        assert {door["id"] for door in new.get("/locks/v1/doors").json()} == {
            "fjellhallen-inngang",
            "fjellhallen-garderobe",
        }
    listed = op.locks.client.get("/locks/v1/operator/controllers").json()
    (linked,) = [c for c in listed if c["id"] == made["id"]]
    assert linked["hub_events_url"] == f"{d.urls.hub}/hub/v1/controller-events"
    assert op.apply(FJELLBY).changes == []


def test_apply__edited_file_without_the_made_members_passwords__applies_a_new_ones_is_refused(
    running: Deployment, operator: Operator
) -> None:
    op = operator
    op.apply(FJELLBY)
    edited = FJELLBY.replace("max_booking_minutes = 240", "max_booking_minutes = 180")
    # kari.admin is made: her password is not needed again (she may have changed it since).
    assert op.apply(edited, environ={}).changes == [
        "~ resource 'Fjellhallen, hall A': max_booking_minutes"
    ]
    before = _everything(op)
    newcomer = '[[staff]]\nusername = "per"\nrole = "case_officer"\npassword_env = "PER_PW"\n\n'
    # A new member whose variable is unset, and an edit: refused before anything changes.
    grown = edited.replace("[[staff]]", newcomer + "[[staff]]", 1)
    grown = grown.replace("max_booking_minutes = 180", "max_booking_minutes = 200")
    with pytest.raises(ApplyError, match=r"set the environment variables PER_PW$"):
        op.apply(grown, environ={})
    assert _everything(op) == before
    # A dry run says so too, instead of promising changes the apply would refuse.
    with pytest.raises(ApplyError, match=r"set the environment variables PER_PW$"):
        op.apply(grown, environ={}, dry_run=True)
    # Nor a new member without password_env when no password may be generated.
    unnamed = grown.replace('password_env = "PER_PW"\n', "")
    with pytest.raises(ApplyError, match="staff 'per' has no password_env"):
        apply_setup(
            parse_setup(unnamed), booking=op.booking, hub=op.hub, locks=op.locks, environ={}
        )
    assert _everything(op) == before
