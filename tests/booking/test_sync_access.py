"""The `sync_access` job against the real hub, served on loopback (see hub_proxy.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from hallkey.booking.models import Reservation
from tests.booking.conftest import BookingFactory, reservation_body
from tests.booking.hub_proxy import END, START, World, start_real_hub
from tests.conftest import DatabaseUrlFactory


@pytest.fixture
def world(
    make_booking: BookingFactory, database_url: DatabaseUrlFactory, tmp_path: Path
) -> Iterator[World]:
    """A booking context whose tenants use the real hub on loopback (started)."""
    with start_real_hub(make_booking, database_url, tmp_path) as (booking, real_hub):
        yield World(booking, real_hub)


def test_sync_access__confirmed__grants_with_ref_doors_frame_and_contact_but_no_name(
    world: World,
) -> None:
    created = world.reserve()
    assert world.run_jobs() == 1
    assert world.hub.names() == ["GrantAccess"]
    _, body, auth = world.hub.calls[0]
    assert auth == f"Bearer {world.real_hub.key}"
    assert body == {
        "ref": created["ref"],
        "operation": "code",
        "credential": "pin",
        "doors": ["dor_a", "dor_b"],
        "valid_from": "2026-05-04T09:45:00Z",
        "valid_to": "2026-05-04T12:15:00Z",
        "recipient": {"phone": "+4741234567", "email": "kari@example.no"},
        "deliver_via": ["sms", "email"],
        "locale": "nb",
        "revision": 1,
    }
    assert "Kari" not in json.dumps(body)
    assert "Nordmann" not in json.dumps(body)

    code = world.real_hub.grant(created["ref"])["code"]
    access = world.get(created["id"])["access"]
    assert access == {
        "state": "granted",
        "credential": "pin",
        "code": code,
        "code_formatted": code + "#",
    }
    # The code is kept sealed at rest.
    with world.booking.ctx.database.transaction() as session:
        sealed = session.scalars(select(Reservation.access_secret_sealed)).one()
    assert sealed is not None and code not in sealed

    # Running the push again changes nothing (the hub answers the same grant).
    with world.booking.ctx.database.transaction() as session:
        world.booking.ctx.jobs.enqueue(session, "sync_access", {"reservation_id": created["id"]})
    assert world.run_jobs() == 1
    assert world.get(created["id"])["access"]["state"] == "granted"


def test_sync_access__after_a_move__hub_409_leads_to_update_access(world: World) -> None:
    created = world.reserve()
    world.run_jobs()
    world.move(created["id"], "2026-05-04T14:00:00Z", "2026-05-04T15:00:00Z")
    assert world.run_jobs() == 1
    assert world.hub.names() == ["GrantAccess", "GrantAccess", "UpdateAccess"]
    _, update, _ = world.hub.calls[-1]
    assert update == {
        "ref": created["ref"],
        "valid_from": "2026-05-04T13:45:00Z",
        "valid_to": "2026-05-04T15:15:00Z",
        "doors": ["dor_a", "dor_b"],
        "recipient": {"phone": "+4741234567", "email": "kari@example.no"},
        "revision": 2,
    }
    assert world.real_hub.grant(created["ref"])["valid_from"] == "2026-05-04T13:45:00Z"
    assert world.get(created["id"])["access"]["state"] == "granted"


def test_sync_access__hub_down__stays_pending_then_granted_once_it_is_up(world: World) -> None:
    world.server.stop()
    created = world.reserve()
    assert world.run_jobs() == 1
    assert world.get(created["id"])["access"] == {"state": "pending", "credential": "pin"}
    assert world.run_jobs() == 0  # waiting for its backoff

    world.server.start()
    world.booking.clock.advance(timedelta(seconds=3))
    assert world.run_jobs() == 1
    assert world.get(created["id"])["access"]["state"] == "granted"
    assert world.hub.names() == ["GrantAccess"]


def test_sync_access__cancelled__revokes_the_grant(world: World) -> None:
    created = world.reserve()
    world.run_jobs()
    response = world.booking.client.post(
        f"/api/v1/reservations/{created['id']}/cancel", headers=world.booking.headers()
    )
    assert response.status_code == 200
    assert world.run_jobs() == 1
    assert world.hub.names() == ["GrantAccess", "RevokeAccess"]
    assert world.hub.calls[-1][1] == {"ref": created["ref"], "revision": 2}
    assert world.real_hub.grant(created["ref"])["state"] == "revoked"
    assert world.get(created["id"])["access"] == {"state": "revoked", "credential": "pin"}


def test_sync_access__cancelled_before_the_first_push__revokes_and_never_grants(
    world: World,
) -> None:
    created = world.reserve()
    world.booking.client.post(
        f"/api/v1/reservations/{created['id']}/cancel", headers=world.booking.headers()
    )
    world.run_jobs()
    # Both jobs see the current state, cancelled. The booking was marked as asked for a grant
    # when its first push was queued (it cannot know whether that push reached the hub), so
    # both revoke: the hub has no grant for the ref, and none was ever made.
    assert set(world.hub.names()) == {"RevokeAccess"}
    assert world.hub.calls[-1][1] == {"ref": created["ref"], "revision": 2}
    missing = httpx.get(
        f"{world.real_hub.server.base_url}/hub/v1/grants/{created['ref']}",
        headers={"Authorization": f"Bearer {world.real_hub.key}"},
    )
    assert missing.status_code == 404
    assert world.get(created["id"])["status"] == "cancelled"
    assert world.get(created["id"])["access"] == {"state": "revoked", "credential": "pin"}


def test_sync_access__requested__pushes_nothing_until_approved(world: World) -> None:
    created = world.reserve(world.booking.approval_resource_id)
    assert world.run_jobs() == 0
    assert world.hub.names() == []
    approved = world.booking.client.post(
        f"/api/v1/reservations/{created['id']}/approve", headers=world.booking.headers()
    )
    assert approved.status_code == 200
    assert world.run_jobs() == 1
    assert world.hub.names() == ["GrantAccess"]
    assert world.hub.calls[0][1]["doors"] == ["dor_d"]


def test_sync_access__hub_refuses__access_failed_with_its_code_and_no_retry(world: World) -> None:
    # The hub knows no door `dor_c`, which this resource names: a refusal for good.
    created = world.reserve(world.booking.hours_resource_id)
    assert world.run_jobs() == 1
    access = world.get(created["id"])["access"]
    assert access["state"] == "failed"
    assert access["error"] == "unknown_door"
    world.booking.clock.advance(timedelta(hours=1))
    assert world.run_jobs() == 0


def test_sync_access__moved_during_the_push__pushes_the_newest_state(world: World) -> None:
    created = world.reserve()
    # While the hub handles the first GrantAccess, staff move the booking. The job holds no
    # transaction during the call, so the move commits at once (even on SQLite).
    world.hub.on_grant = lambda: world.move(
        created["id"], "2026-05-04T14:00:00Z", "2026-05-04T15:00:00Z"
    )
    world.run_jobs()
    grant = world.real_hub.grant(created["ref"])
    assert grant["valid_from"] == "2026-05-04T13:45:00Z"
    assert grant["valid_to"] == "2026-05-04T15:15:00Z"
    got = world.get(created["id"])
    assert got["version"] == 2
    assert got["access"]["state"] == "granted"


def test_access_events__pushed_by_the_hub__show_in_the_reservation(world: World) -> None:
    created = world.reserve()
    event = {
        "id": "hev_01",
        "ref": created["ref"],
        "door": "dor_a",
        "door_name": "Main door",
        "kind": "access_granted",
        "reason": None,
        "at": "2026-05-04T09:50:00Z",
    }
    response = world.booking.client.post(
        "/api/v1/access-events",
        json={"events": [event]},
        headers=world.booking.headers(world.booking.events_token),
    )
    assert response.status_code == 200
    assert world.get(created["id"])["events"] == [
        {k: event[k] for k in ("at", "door", "door_name", "kind", "reason")}
    ]


def cancel(world: World, reservation_id: str) -> None:
    response = world.booking.client.post(
        f"/api/v1/reservations/{reservation_id}/cancel", headers=world.booking.headers()
    )
    assert response.status_code == 200, response.text


def test_sync_access__revoke_refused__is_retried_until_the_hub_takes_it(world: World) -> None:
    created = world.reserve()
    world.run_jobs()
    world.hub.refuse["RevokeAccess"] = (401, "unauthorized")  # the key was rotated at the hub
    cancel(world, created["id"])
    assert world.run_jobs() == 1
    assert world.real_hub.grant(created["ref"])["state"] == "active"
    # The door still honours the code until the hub takes the revocation, but a cancelled
    # booking shows no code: its access is pending until then.
    assert world.get(created["id"])["access"] == {"state": "pending", "credential": "pin"}

    world.hub.refuse["RevokeAccess"] = (422, "refused")  # even a final-looking refusal
    world.booking.clock.advance(timedelta(minutes=10))
    assert world.run_jobs() == 1
    del world.hub.refuse["RevokeAccess"]
    world.booking.clock.advance(timedelta(minutes=10))
    assert world.run_jobs() == 1
    assert world.real_hub.grant(created["ref"])["state"] == "revoked"
    assert world.get(created["id"])["access"] == {"state": "revoked", "credential": "pin"}


def test_sync_access__move_refused__old_grant_is_revoked_and_its_code_hidden(
    world: World,
) -> None:
    created = world.reserve()
    world.run_jobs()
    assert (
        world.get(created["id"])["access"]["code"] == world.real_hub.grant(created["ref"])["code"]
    )
    world.hub.refuse["UpdateAccess"] = (422, "unsupported_by_door")
    world.move(created["id"], "2026-05-04T14:00:00Z", "2026-05-04T15:00:00Z")
    world.run_jobs()

    assert world.hub.names()[-3:] == ["GrantAccess", "UpdateAccess", "RevokeAccess"]
    assert world.real_hub.grant(created["ref"])["state"] == "revoked"
    assert world.get(created["id"])["access"] == {
        "state": "failed",
        "credential": "pin",
        "error": "unsupported_by_door",
    }


def test_sync_access__club_members__each_get_the_key_on_their_own_phone(world: World) -> None:
    club = {"name": "Ola (IL Testby)", "phone": "+4790000001", "email": "post@il-testby.no"}
    other = {"name": "Kari (IL Testby)", "phone": "+4790000002", "email": "post@il-testby.no"}
    ids = []
    for customer, start, end in (
        (club, START, END),
        (other, "2026-05-05T10:00:00Z", "2026-05-05T11:00:00Z"),
    ):
        body = reservation_body(world.booking.resource_id, start, end, customer=customer)
        response = world.booking.client.post(
            "/api/v1/reservations", json=body, headers=world.booking.headers()
        )
        assert response.status_code == 201, response.text
        ids.append(response.json())
    assert ids[0]["customer"]["id"] == ids[1]["customer"]["id"]  # one customer: the club
    world.run_jobs()
    # Ola's booking moves after Kari booked: its key still goes to Ola's phone.
    world.move(ids[0]["id"], "2026-05-04T14:00:00Z", "2026-05-04T15:00:00Z")
    world.run_jobs()

    phones = [(name, body["ref"], body["recipient"]["phone"]) for name, body, _ in world.hub.calls]
    assert phones == [
        ("GrantAccess", ids[0]["ref"], "+4790000001"),
        ("GrantAccess", ids[1]["ref"], "+4790000002"),
        ("GrantAccess", ids[0]["ref"], "+4790000001"),
        ("UpdateAccess", ids[0]["ref"], "+4790000001"),
    ]
    assert world.get(ids[0]["id"])["customer"]["name"] == "Ola (IL Testby)"
