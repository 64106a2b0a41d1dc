"""The booking follows what the real hub holds: current content, revocations, refusals."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.booking.conftest import BookingFactory
from tests.booking.hub_proxy import END, START, World, start_real_hub
from tests.conftest import DatabaseUrlFactory


@pytest.fixture
def world(
    make_booking: BookingFactory, database_url: DatabaseUrlFactory, tmp_path: Path
) -> Iterator[World]:
    """A booking context whose tenants use the real hub on loopback (started)."""
    with start_real_hub(make_booking, database_url, tmp_path) as (booking, real_hub):
        yield World(booking, real_hub)


LATER_START = "2026-05-04T14:00:00Z"
LATER_END = "2026-05-04T15:00:00Z"


def test_sync_access__moved_away_and_back__the_door_opens_at_the_original_time_only(
    world: World,
) -> None:
    created = world.reserve()
    world.run_jobs()
    world.move(created["id"], LATER_START, LATER_END)
    world.run_jobs()
    world.move(created["id"], START, END)
    world.run_jobs()
    world.real_hub.run_jobs()

    grant = world.real_hub.grant(created["ref"])
    assert grant["windows"] == [
        {"valid_from": "2026-05-04T09:45:00Z", "valid_to": "2026-05-04T12:15:00Z"}
    ]
    access = world.get(created["id"])["access"]
    assert access["state"] == "granted"
    assert access["code"] == grant["code"]
    assert world.try_code("dor_a", access["code"], START).ref == created["ref"]
    assert world.try_code("dor_a", access["code"], LATER_START).reason == "outside_window"


def test_sync_access__hub_answers_with_another_grant__booking_corrects_it(world: World) -> None:
    created = world.reserve()
    world.run_jobs()
    # A hub that answers a repeated GrantAccess with the grant as it stands (at 10:00).
    world.hub.answer_as_it_stands.add("GrantAccess")
    before_move = len(world.hub.calls)
    world.move(created["id"], LATER_START, LATER_END)
    world.run_jobs()

    # The move's push comes first; a retry of the first push may follow it (a first call
    # that timed out under load is retried once the hub answers again).
    assert world.hub.names()[before_move : before_move + 2] == ["GrantAccess", "UpdateAccess"]
    assert world.real_hub.grant(created["ref"])["valid_from"] == "2026-05-04T13:45:00Z"
    assert world.get(created["id"])["access"]["state"] == "granted"


def test_sync_access__revoked_at_the_hub__no_code_shown_and_a_move_grants_a_working_one(
    world: World,
) -> None:
    created = world.reserve()
    world.run_jobs()
    world.real_hub.run_jobs()
    old_code = world.get(created["id"])["access"]["code"]
    # Someone revokes the grant at the hub directly.
    assert world.real_hub.post("RevokeAccess", {"ref": created["ref"]}).status_code == 200
    world.real_hub.run_jobs()
    assert world.try_code("dor_a", old_code, START).reason == "revoked"

    world.sync_again(created["id"])
    world.run_jobs()
    assert world.get(created["id"])["access"] == {
        "state": "failed",
        "credential": "pin",
        "error": "grant_revoked",
    }

    world.move(created["id"], LATER_START, LATER_END)
    world.run_jobs()
    world.real_hub.run_jobs()
    access = world.get(created["id"])["access"]
    assert access["state"] == "granted"
    assert access["code"] != old_code
    assert world.try_code("dor_a", access["code"], LATER_START).ref == created["ref"]
    assert world.try_code("dor_b", access["code"], LATER_START).ref == created["ref"]
    grant = world.real_hub.grant(created["ref"])
    assert grant["state"] == "active"
    assert [d["template"] for d in grant["deliveries"]].count("access_granted") == 4  # 2 x 2


def test_sync_access__no_free_code_at_the_door__failed_with_no_free_code(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def exhausted(length: int, taken: object, **_: object) -> str:
        raise RuntimeError("no free PIN code found")

    monkeypatch.setattr("hallkey.hub.grant_checks.generate_pin", exhausted)
    created = world.reserve()
    world.run_jobs()
    assert world.get(created["id"])["access"] == {
        "state": "failed",
        "credential": "pin",
        "error": "no_free_code",
    }
    assert "UpdateAccess" not in world.hub.names()


def test_sync_access__hub_keeps_answering_with_another_grant__pending_without_a_code(
    world: World,
) -> None:
    created = world.reserve()
    world.run_jobs()
    assert world.get(created["id"])["access"]["state"] == "granted"
    # Every answer is the grant as it stands: neither GrantAccess nor UpdateAccess takes.
    world.hub.answer_as_it_stands.update({"GrantAccess", "UpdateAccess"})
    world.move(created["id"], LATER_START, LATER_END)
    world.run_jobs()
    assert world.hub.names()[-2:] == ["GrantAccess", "UpdateAccess"]
    assert world.get(created["id"])["access"] == {"state": "pending", "credential": "pin"}

    world.hub.answer_as_it_stands.clear()
    world.booking.clock.advance(timedelta(minutes=10))
    world.run_jobs()
    assert world.get(created["id"])["access"]["state"] == "granted"
    assert world.real_hub.grant(created["ref"])["valid_from"] == "2026-05-04T13:45:00Z"


def test_sync_access__move_while_the_hub_is_down__pending_without_the_old_code(
    world: World,
) -> None:
    created = world.reserve()
    world.run_jobs()
    world.hub.refuse["GrantAccess"] = (503, "unavailable")
    world.move(created["id"], LATER_START, LATER_END)
    world.run_jobs()
    assert world.get(created["id"])["access"] == {"state": "pending", "credential": "pin"}


def test_sync_access__moved_before_the_hub_heard__no_code_shown_that_the_door_refuses(
    world: World,
) -> None:
    created = world.reserve()
    world.run_jobs()
    world.real_hub.run_jobs()
    old_code = world.get(created["id"])["access"]["code"]

    response = world.booking.client.patch(
        f"/api/v1/reservations/{created['id']}",
        json={"start": LATER_START, "end": LATER_END},
        headers=world.booking.headers(),
    )
    assert response.status_code == 200, response.text
    # The hub holds the old time until the push runs: its code is refused at the new one.
    assert world.try_code("dor_a", old_code, LATER_START).reason == "outside_window"
    assert response.json()["access"] == {"state": "pending", "credential": "pin"}
    assert world.get(created["id"])["access"] == {"state": "pending", "credential": "pin"}

    world.run_jobs()
    world.real_hub.run_jobs()
    access = world.get(created["id"])["access"]
    assert access["state"] == "granted"
    assert world.try_code("dor_a", access["code"], LATER_START).ref == created["ref"]


def test_sync_access__cancelled__its_code_is_hidden_at_once_and_then_revoked(
    world: World,
) -> None:
    created = world.reserve()
    world.run_jobs()
    assert world.get(created["id"])["access"]["state"] == "granted"

    response = world.booking.client.post(
        f"/api/v1/reservations/{created['id']}/cancel", headers=world.booking.headers()
    )
    assert response.status_code == 200, response.text
    assert response.json()["access"] == {"state": "pending", "credential": "pin"}

    world.run_jobs()
    assert world.get(created["id"])["access"] == {"state": "revoked", "credential": "pin"}
    assert world.real_hub.grant(created["ref"])["state"] == "revoked"


def test_sync_access__move_refused_then_retried_once_the_hub_is_mended__granted_again(
    world: World,
) -> None:
    created = world.reserve()
    world.run_jobs()
    world.real_hub.run_jobs()
    old_code = world.get(created["id"])["access"]["code"]
    world.hub.refuse["UpdateAccess"] = (409, "no_free_code")  # the door is full at the new time
    world.move(created["id"], LATER_START, LATER_END)
    world.run_jobs()
    world.real_hub.run_jobs()
    assert world.get(created["id"])["access"]["error"] == "no_free_code"
    assert world.try_code("dor_a", old_code, START).reason == "revoked"  # failed closed

    # The operator makes room and brings the dead push back (`hallkey jobs retry`).
    del world.hub.refuse["UpdateAccess"]
    with world.booking.ctx.database.transaction() as session:
        assert world.booking.ctx.jobs.retry_dead(session, kind="sync_access") == 1
    world.run_jobs()
    world.real_hub.run_jobs()

    access = world.get(created["id"])["access"]
    assert access["state"] == "granted"
    assert access["code"] != old_code
    assert world.try_code("dor_a", access["code"], LATER_START).ref == created["ref"]
    assert world.try_code("dor_a", access["code"], START).reason == "outside_window"
    assert world.try_code("dor_a", old_code, LATER_START).granted is False


def test_sync_access__refused_at_a_version_the_hub_holds__still_revoked(world: World) -> None:
    created = world.reserve()
    world.run_jobs()
    assert world.real_hub.grant(created["ref"])["state"] == "active"
    # The same version pushed again (as after a change the hub never saw) and refused.
    world.hub.refuse["GrantAccess"] = (422, "unsupported_by_door")
    world.sync_again(created["id"])
    world.run_jobs()

    assert world.hub.names()[-2:] == ["RevokeAccess", "RevokeAccess"]
    assert world.real_hub.grant(created["ref"])["state"] == "revoked"
    assert world.get(created["id"])["access"] == {
        "state": "failed",
        "credential": "pin",
        "error": "unsupported_by_door",
    }


def test_sync_access__door_refuses_the_key_as_revoked__booking_asks_the_hub_and_hides_it(
    world: World,
) -> None:
    created = world.reserve()
    world.run_jobs()
    world.real_hub.run_jobs()
    code = world.get(created["id"])["access"]["code"]
    # Revoked at the hub by someone else than the booking's sync: the booking has not heard.
    assert world.real_hub.post("RevokeAccess", {"ref": created["ref"]}).status_code == 200
    world.real_hub.run_jobs()
    assert world.get(created["id"])["access"]["code"] == code
    # The guest tries the code; the refusal reaches the booking as a door event.
    assert world.try_code("dor_a", code, START).reason == "revoked"
    event = {
        "id": "hev_refused",
        "ref": created["ref"],
        "door": "dor_a",
        "door_name": "Main door",
        "kind": "access_denied",
        "reason": "revoked",
        "at": "2026-05-04T09:50:00Z",
    }
    pushed = world.booking.client.post(
        "/api/v1/access-events",
        json={"events": [event]},
        headers=world.booking.headers(world.booking.events_token),
    )
    assert pushed.json() == {"accepted": 1, "rejected": []}
    world.run_jobs()
    assert world.get(created["id"])["access"] == {
        "state": "failed",
        "credential": "pin",
        "error": "grant_revoked",
    }
