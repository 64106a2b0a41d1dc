"""A mobile key at a site whose hub door ids differ from its controller's own ids.

The key's `doors` claim names hub doors; the controller must match them through the hub id of
each of its doors (told by `hallkey apply`, or learned from the hub's first programming), not
its own ids. Here the two sets of ids are swapped, so matching by the controller's own id
would open the wrong door.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import update

from hallkey.app import issue_operator_key
from hallkey.apply import Endpoint, apply_setup, parse_setup
from hallkey.locks.models import Door
from tests.conftest import DatabaseUrlFactory
from tests.e2e.harness import Deployment, deployment
from tests.servers import wait_for

NOW = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)
START = NOW + timedelta(minutes=30)
CUSTOMER = {"name": "Per Hansen", "phone": "+47 912 34 569", "email": "per@example.org"}

# Hub door "vestby-ost" is the controller's "vestby-vest" and the other way round.
VESTBY = """
[tenant]
slug = "vestby"
name = "Vestby kommune"

[hub]
client = "Vestby kommune booking"

[[tokens]]
name = "portal"
scopes = ["staff"]

[[sites]]
name = "Vestby hall"
connector = "controller"
doors = [
  { id = "vestby-ost", name = "Østinngang", remote_id = "vestby-vest" },
  { id = "vestby-vest", name = "Vestinngang", remote_id = "vestby-ost" },
]

[[venues]]
name = "Vestby hall"
address = "Vestveien 1, 9998 Vestby"

[[venues.resources]]
name = "Vestby hall, øst"
doors = ["vestby-ost"]
credential = "mobile_key"
"""


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _client(url: str, key: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=10)


@pytest.fixture
def split(database_url: DatabaseUrlFactory, tmp_path: Path) -> Iterator[Deployment]:
    with deployment("split", database_url, tmp_path / "var", NOW) as deployed:
        yield deployed


def _apply(d: Deployment) -> Any:
    roles: tuple[Any, ...] = ("booking", "hub", "locks")
    keys = {role: issue_operator_key(d.contexts, role, "test")[1] for role in roles}
    urls = {"booking": d.urls.booking, "hub": d.urls.hub, "locks": d.urls.locks}
    endpoints = {role: Endpoint(_client(urls[role], keys[role]), urls[role]) for role in roles}
    try:
        return apply_setup(
            parse_setup(VESTBY),
            booking=endpoints["booking"],
            hub=endpoints["hub"],
            locks=endpoints["locks"],
        )
    finally:
        for endpoint in endpoints.values():
            endpoint.client.close()


@pytest.mark.parametrize("told_by", ["apply", "the_hub"])
def test_mobile_key__hub_and_controller_ids_swapped__opens_only_the_door_it_names(
    split: Deployment, told_by: str
) -> None:
    d = split
    done = _apply(d)
    assert done.changes and "+ controller 'Vestby hall': door 'vestby-vest'" in done.changes
    controller_key = done.keys["controllers"]["Vestby hall"]
    if told_by == "the_hub":
        # A controller set up before it kept hub ids: the hub's programming must teach it.
        assert d.contexts.locks is not None
        with d.contexts.locks.database.transaction() as session:
            session.execute(update(Door).where(Door.id.like("vestby-%")).values(hub_door_id=None))

    portal = _client(d.urls.booking, done.keys["booking_tokens"]["portal"])
    hub = _client(d.urls.hub, done.keys["hub_api_key"])
    locks = _client(d.urls.locks, controller_key)
    with portal, hub, locks:
        created = portal.post(
            "/api/v1/reservations",
            json={
                "resource_id": done.ids["resources"]["Vestby hall, øst"],
                "start": iso(START),
                "end": iso(START + timedelta(hours=1)),
                "customer": CUSTOMER,
            },
        )
        assert created.status_code == 201, created.text
        ref = created.json()["ref"]

        def programmed() -> bool:
            grant = hub.get(f"/hub/v1/grants/{ref}")
            return grant.is_success and [x["state"] for x in grant.json()["doors"]] == [
                "programmed"
            ]

        wait_for(programmed, timeout=30)
        token = hub.get(f"/hub/v1/grants/{ref}").json()["mobile_key"]
        assert jwt.decode(token, options={"verify_signature": False})["doors"] == ["vestby-ost"]
        doors = locks.get("/locks/v1/doors").json()
        assert {door["id"] for door in doors} == {"vestby-ost", "vestby-vest"}

        def present(controller_door: str) -> dict[str, Any]:
            answer = locks.post(
                f"/locks/v1/doors/{controller_door}/mobile-key", json={"token": token}
            )
            assert answer.status_code == 200, answer.text
            body: dict[str, Any] = answer.json()
            return body

        d.clock.set(START)
        # The hub's "vestby-ost" is the controller's "vestby-vest": that door opens.
        assert present("vestby-vest") == {"granted": True, "ref": ref}
        # The controller's own "vestby-ost" is the hub's "vestby-vest": not this key's door.
        assert present("vestby-ost") == {"granted": False, "reason": "wrong_door"}
        assert locks.get("/locks/v1/doors/vestby-ost").json()["locked"] is True

        assert portal.post(f"/api/v1/reservations/{created.json()['id']}/cancel").is_success
        wait_for(
            lambda: (
                [x["state"] for x in hub.get(f"/hub/v1/grants/{ref}").json()["doors"]]
                == ["revoked"]
            ),
            timeout=30,
        )
        assert present("vestby-vest") == {"granted": False, "reason": "revoked"}
