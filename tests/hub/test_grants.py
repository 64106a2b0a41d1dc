"""The grant flow through HTTP on a real database, with memory doors and a manual clock."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hallkey.core.web import create_app
from hallkey.hub import build_part, repository
from hallkey.hub.connectors import Credential, DoorTarget, MemoryConnector
from hallkey.hub.domain import Window
from hallkey.hub.models import Grant
from tests.hub.conftest import END, START, HubWorld, iso
from tests.servers import serving


def _count_grants(hub: HubWorld) -> int:
    with hub.ctx.database.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(Grant)) or 0)


def test_grant_access__pin_is_issued_and_doors_get_programmed(hub: HubWorld) -> None:
    grant = hub.grant()

    assert grant["ref"] == "rsv_one"
    assert grant["state"] == "active"
    assert grant["credential"] == "pin"
    code = grant["code"]
    assert len(code) == 6 and code.isdigit()
    assert grant["code_formatted"] == f"{code}#"
    assert grant["valid_from"] == iso(START) and grant["valid_to"] == iso(END)
    assert grant["windows"] == [{"valid_from": iso(START), "valid_to": iso(END)}]
    assert grant["doors"] == [{"id": "door-a", "state": "pending", "errors": []}]
    assert {d["channel"] for d in grant["deliveries"]} == {"sms", "email"}
    assert all(d["state"] == "queued" for d in grant["deliveries"])

    hub.run_jobs()

    view = hub.get("grants/rsv_one").json()
    assert view["doors"] == [{"id": "door-a", "state": "programmed", "errors": []}]
    assert all(d["state"] == "sent" for d in view["deliveries"])
    lock = hub.ctx.connectors.memory
    assert lock.try_code("door-a", f"{code}#", START).granted
    assert lock.try_code("door-a", code, END - timedelta(seconds=1)).ref == "rsv_one"
    assert lock.try_code("door-a", code, START - timedelta(seconds=1)).reason == "outside_window"
    assert lock.try_code("door-a", code, END).reason == "outside_window"
    assert not lock.try_code("door-b", code, START).granted


def test_grant_access__identical_repeat__same_grant_one_code_one_message_per_channel(
    hub: HubWorld,
) -> None:
    first = hub.grant()
    # Same content, other key order and another offset notation of the same instants.
    body = hub.grant_body(valid_from="2026-12-01T18:00:00+01:00", valid_to=iso(END))
    again = hub.post("GrantAccess", dict(reversed(list(body.items()))))
    assert again.status_code == 200, again.text
    assert again.json()["code"] == first["code"]
    assert again.json()["deliveries"] == first["deliveries"]
    hub.run_jobs()
    assert hub.post("GrantAccess", body).status_code == 200
    hub.run_jobs()

    assert _count_grants(hub) == 1
    assert len(hub.message_files()) == 2


def test_grant_access__same_ref_other_content__is_409(hub: HubWorld) -> None:
    hub.grant()
    response = hub.post("GrantAccess", hub.grant_body(valid_to=iso(END + timedelta(hours=1))))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "ref_in_use"


def _first_lookup_misses(monkeypatch: pytest.MonkeyPatch) -> None:
    """Makes GrantAccess's first look-up of its ref find nothing, as when another call for
    the ref commits between that look-up and this one's INSERT."""
    found = repository.grant_by_ref
    calls = iter(range(1_000))

    def late(
        session: Session, client_id: str, ref: str, *, for_update: bool = False
    ) -> Grant | None:
        if next(calls) == 0:
            return None
        return found(session, client_id, ref, for_update=for_update)

    monkeypatch.setattr(repository, "grant_by_ref", late)


def test_grant_access__same_ref_committed_meanwhile__answers_as_a_repeat_and_adds_nothing(
    hub: HubWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = hub.grant()
    _first_lookup_misses(monkeypatch)

    again = hub.post("GrantAccess", hub.grant_body())

    assert again.status_code == 200, again.text
    assert again.json()["code"] == first["code"]
    assert again.json()["deliveries"] == first["deliveries"]
    hub.run_jobs()
    assert _count_grants(hub) == 1
    assert len(hub.message_files()) == 2


def test_grant_access__same_ref_other_content_committed_meanwhile__is_409(
    hub: HubWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub.grant()
    _first_lookup_misses(monkeypatch)

    response = hub.post("GrantAccess", hub.grant_body(valid_to=iso(END + timedelta(hours=1))))

    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "ref_in_use"
    assert _count_grants(hub) == 1


def test_grant_access__unknown_door__is_404_and_nothing_stored(hub: HubWorld) -> None:
    response = hub.post("GrantAccess", hub.grant_body(doors=["door-a", "nope"]))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_door"
    assert response.json()["error"]["field"] == "doors"
    assert _count_grants(hub) == 0
    assert hub.queued_job_kinds() == {
        "purge_recipients",
        "reconcile_doors",
        "mqtt_events",
    }  # periodic only


def test_grant_access__another_clients_door__is_404(hub: HubWorld) -> None:
    response = hub.post("GrantAccess", hub.grant_body(doors=[hub.other_door]))
    assert response.status_code == 404
    assert response.json()["error"]["field"] == "doors"


def test_grant_access__valid_to_in_the_past__is_422_and_nothing_stored(hub: HubWorld) -> None:
    past = hub.clock.now() - timedelta(hours=1)
    body = hub.grant_body(valid_from=iso(past - timedelta(hours=1)), valid_to=iso(past))
    response = hub.post("GrantAccess", body)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "valid_to"
    assert _count_grants(hub) == 0


def test_grant_access__valid_to_before_valid_from__is_422(hub: HubWorld) -> None:
    response = hub.post("GrantAccess", hub.grant_body(valid_from=iso(END), valid_to=iso(START)))
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "valid_to"


def test_grant_access__both_time_frame_and_windows__is_422(hub: HubWorld) -> None:
    body = hub.grant_body(windows=[{"valid_from": iso(START), "valid_to": iso(END)}])
    response = hub.post("GrantAccess", body)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "windows"


def test_grant_access__naive_time__is_422(hub: HubWorld) -> None:
    response = hub.post("GrantAccess", hub.grant_body(valid_from="2026-12-01T18:00:00"))
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "valid_from"


def test_grant_access__recipient_name__is_422(hub: HubWorld) -> None:
    body = hub.grant_body(recipient={"phone": "+4791234567", "name": "Kari Nordmann"})
    response = hub.post("GrantAccess", body)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "recipient.name"
    assert "Kari" not in response.text
    assert _count_grants(hub) == 0


def test_grant_access__bad_phone__is_422_without_echoing_it(hub: HubWorld) -> None:
    response = hub.post("GrantAccess", hub.grant_body(recipient={"phone": "12"}))
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "recipient.phone"


def test_grant_access__sms_without_a_gateway_set_up__is_422_unsupported(
    hub: HubWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        hub.ctx, "settings", hub.ctx.settings.model_copy(update={"sms_number": None})
    )
    response = hub.post("GrantAccess", hub.grant_body(credential="sms"))
    assert response.status_code == 422
    assert response.json()["error"] == {
        "code": "unsupported",
        "message": response.json()["error"]["message"],
        "field": "credential",
    }
    assert hub.get("grants/rsv_one").status_code == 404


def test_grant_access__unlock_on_doors_without_schedules__is_422_naming_operation(
    hub: HubWorld,
) -> None:
    response = hub.post("GrantAccess", hub.grant_body(operation="unlock", deliver_via=[]))
    assert response.status_code == 422
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("unsupported_by_door", "operation")
    assert hub.get("grants/rsv_one").status_code == 404


def test_grant_access__unlock_with_deliveries__is_422_naming_deliver_via(hub: HubWorld) -> None:
    response = hub.post("GrantAccess", hub.grant_body(operation="unlock"))
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "deliver_via"
    assert hub.get("grants/rsv_one").status_code == 404


def test_grant_access__pin_on_a_pulse_only_door__is_refused(hub: HubWorld) -> None:
    from hallkey.hub import create_door, create_site

    with hub.ctx.database.transaction() as session:
        site_id, _ = create_site(
            hub.ctx, session, client_id=hub.client_id, name="Relé", connector="memory",
            config={"capabilities": "pulse"},
        )  # fmt: skip
        create_door(hub.ctx, session, site_id=site_id, name="Port", door_id="relay-1")
    response = hub.post("GrantAccess", hub.grant_body(doors=["relay-1"]))
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "unsupported_by_door"
    assert response.json()["error"]["field"] == "credential"
    doors = {d["id"]: d for d in hub.get("doors").json()}
    assert doors["relay-1"]["capabilities"] == ["pulse"]


def test_grant_access__without_key__is_401(hub: HubWorld) -> None:
    response = hub.http.post("/hub/v1/GrantAccess", json=hub.grant_body())
    assert response.status_code == 401
    response = hub.post("GrantAccess", hub.grant_body(), key="hkh_0011223344556677.nope")
    assert response.status_code == 401


def test_grant_access__windows__code_works_only_inside_them(hub: HubWorld) -> None:
    week = timedelta(days=7)
    windows = [
        {"valid_from": iso(START + n * week), "valid_to": iso(END + n * week)} for n in range(3)
    ]
    body = hub.grant_body("rsv_series", windows=windows)
    del body["valid_from"], body["valid_to"]
    grant = hub.post("GrantAccess", body).json()
    assert grant["windows"] == windows
    assert grant["valid_to"] == windows[-1]["valid_to"]
    hub.run_jobs()
    lock = hub.ctx.connectors.memory
    assert lock.try_code("door-a", grant["code"], START + week).granted
    assert not lock.try_code("door-a", grant["code"], START + timedelta(days=3)).granted


def test_grant_access__answer_of_a_new_grant__is_what_reading_it_back_shows(
    hub: HubWorld,
) -> None:
    # The answer is made from what the request wrote, not read back: in the same order.
    week = timedelta(days=7)
    windows = [
        {"valid_from": iso(START + n * week), "valid_to": iso(END + n * week)} for n in range(3)
    ]
    body = hub.grant_body("rsv_read_back", windows=windows, doors=["door-b", "door-a"])
    del body["valid_from"], body["valid_to"]

    answer = hub.post("GrantAccess", body)

    assert answer.status_code == 201, answer.text
    assert [d["id"] for d in answer.json()["doors"]] == ["door-a", "door-b"]
    assert len(answer.json()["deliveries"]) == 2
    assert answer.json() == hub.get("grants/rsv_read_back").json()


def test_update_access__moves_the_window_and_the_lock_follows(hub: HubWorld) -> None:
    code = hub.grant()["code"]
    hub.run_jobs()
    later = timedelta(hours=2)
    response = hub.post(
        "UpdateAccess",
        {"ref": "rsv_one", "valid_from": iso(START + later), "valid_to": iso(END + later)},
    )
    assert response.status_code == 200, response.text
    view = response.json()
    assert view["valid_from"] == iso(START + later)
    assert view["doors"][0]["state"] == "pending"
    assert view["code"] == code
    hub.run_jobs()
    lock = hub.ctx.connectors.memory
    assert not lock.try_code("door-a", code, START).granted
    assert lock.try_code("door-a", code, START + later).granted
    assert hub.get("grants/rsv_one").json()["doors"][0]["state"] == "programmed"
    templates = [d["template"] for d in hub.get("grants/rsv_one").json()["deliveries"]]
    assert templates.count("access_changed") == 2  # sms and email


def test_update_access__new_doors__removed_door_is_revoked(hub: HubWorld) -> None:
    code = hub.grant()["code"]
    hub.run_jobs()
    response = hub.post("UpdateAccess", {"ref": "rsv_one", "doors": ["door-b"]})
    assert response.status_code == 200
    hub.run_jobs()
    doors = {d["id"]: d["state"] for d in hub.get("grants/rsv_one").json()["doors"]}
    assert doors == {"door-a": "revoked", "door-b": "programmed"}
    lock = hub.ctx.connectors.memory
    assert lock.try_code("door-a", code, START).reason == "revoked"
    assert lock.try_code("door-b", code, START).granted


def test_update_access__code_that_now_clashes__is_replaced(hub: HubWorld) -> None:
    first = hub.grant("rsv_a")
    second = hub.grant("rsv_b", doors=["door-b"])
    hub.run_jobs()
    # Force a clash: give rsv_b's door the code of rsv_a by moving rsv_b onto door-a.
    with hub.ctx.database.transaction() as session:
        a = session.scalars(select(Grant).where(Grant.ref == "rsv_a")).one()
        b = session.scalars(select(Grant).where(Grant.ref == "rsv_b")).one()
        b.code_sealed, b.code_digest = a.code_sealed, a.code_digest
    response = hub.post("UpdateAccess", {"ref": "rsv_b", "doors": ["door-a"]})
    assert response.status_code == 200
    new_code = response.json()["code"]
    assert new_code not in (first["code"], second["code"])
    hub.run_jobs()
    assert hub.ctx.connectors.memory.try_code("door-a", new_code, START).ref == "rsv_b"


def test_update_access__unknown_ref_is_404_and_revoked_is_409(hub: HubWorld) -> None:
    assert hub.post("UpdateAccess", {"ref": "rsv_nope", "valid_to": iso(END)}).status_code == 404
    hub.grant()
    hub.post("RevokeAccess", {"ref": "rsv_one"})
    response = hub.post("UpdateAccess", {"ref": "rsv_one", "valid_to": iso(END)})
    assert response.status_code == 409


def test_revoke_access__lock_refuses_and_message_is_sent_once(hub: HubWorld) -> None:
    code = hub.grant(deliver_via=["sms"])["code"]
    hub.run_jobs()
    first = hub.post("RevokeAccess", {"ref": "rsv_one"})
    assert first.status_code == 200
    assert first.json()["state"] == "revoked"
    second = hub.post("RevokeAccess", {"ref": "rsv_one"})
    assert second.status_code == 200
    hub.run_jobs()
    view = hub.get("grants/rsv_one").json()
    assert view["doors"] == [{"id": "door-a", "state": "revoked", "errors": []}]
    assert [d["template"] for d in view["deliveries"]] == ["access_granted", "access_revoked"]
    assert hub.ctx.connectors.memory.try_code("door-a", code, START).reason == "revoked"
    assert len(hub.message_files()) == 2


def test_grant_pulse_access__inside_window_200__outside_or_revoked_403__unknown_404(
    hub: HubWorld,
) -> None:
    hub.grant()
    hub.run_jobs()
    body = {"ref": "rsv_one", "door": "door-a", "seconds": 7}
    assert hub.post("GrantPulseAccess", body).status_code == 403  # before the window

    hub.clock.set(START + timedelta(minutes=5))
    response = hub.post("GrantPulseAccess", body)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "ref": "rsv_one",
        "door": "door-a",
        "unlocked_until": iso(START + timedelta(minutes=5, seconds=7)),
    }
    assert hub.ctx.connectors.memory.door("door-a").pulses[-1][1] == "rsv_one"

    other_door = hub.post("GrantPulseAccess", {"ref": "rsv_one", "door": "door-b"})
    assert other_door.status_code == 403
    unknown = hub.post("GrantPulseAccess", {"ref": "rsv_nope", "door": "door-a"})
    assert unknown.status_code == 404
    assert hub.post("GrantPulseAccess", {**body, "seconds": 61}).status_code == 422

    hub.ctx.connectors.memory.set_online("door-a", False)
    offline = hub.post("GrantPulseAccess", body)
    assert offline.status_code == 503
    assert offline.json()["error"]["code"] == "door_offline"
    hub.ctx.connectors.memory.set_online("door-a", True)

    hub.post("RevokeAccess", {"ref": "rsv_one"})
    assert hub.post("GrantPulseAccess", body).status_code == 403


def test_other_client__sees_404_for_my_ref_and_not_my_doors(hub: HubWorld) -> None:
    hub.grant()
    other = hub.other_key
    assert hub.get("grants/rsv_one", key=other).status_code == 404
    assert hub.post("RevokeAccess", {"ref": "rsv_one"}, key=other).status_code == 404
    assert hub.post("UpdateAccess", {"ref": "rsv_one"}, key=other).status_code == 404
    pulse = {"ref": "rsv_one", "door": "door-a"}
    assert hub.post("GrantPulseAccess", pulse, key=other).status_code == 404
    assert [d["id"] for d in hub.get("doors", key=other).json()] == [hub.other_door]
    mine = hub.get("doors").json()
    assert [d["id"] for d in mine] == ["door-a", "door-b"]
    assert mine[0] == {
        "id": "door-a",
        "name": "Hovedinngang",
        "site": hub.site_id,
        "site_name": "Sentrum kulturhus",
        "connector": "memory",
        "capabilities": ["pulse", "store_credentials"],
        "online": True,
        "battery": None,
        "last_seen": None,
    }
    # The same ref is free for another client.
    response = hub.post("GrantAccess", hub.grant_body(doors=[hub.other_door]), key=other)
    assert response.status_code == 201


def test_door_offline__pending_with_error__failed_after_5_tries__programmed_when_back(
    hub: HubWorld,
) -> None:
    lock = hub.ctx.connectors.memory
    lock.set_online("door-a", False)
    code = hub.grant(deliver_via=[])["code"]
    hub.run_jobs()
    door = hub.get("grants/rsv_one").json()["doors"][0]
    assert door["state"] == "pending"
    assert [e["code"] for e in door["errors"]] == ["door_offline"]

    for _ in range(4):
        hub.clock.advance(timedelta(minutes=10))
        hub.run_jobs()
    door = hub.get("grants/rsv_one").json()["doors"][0]
    assert door["state"] == "failed"
    assert door["errors"][0]["code"] == "door_offline"

    lock.set_online("door-a", True)
    hub.clock.advance(timedelta(minutes=10))
    hub.run_jobs()
    door = hub.get("grants/rsv_one").json()["doors"][0]
    assert door == {"id": "door-a", "state": "programmed", "errors": []}
    assert lock.try_code("door-a", code, START).granted


def test_resend_access__queues_new_deliveries(hub: HubWorld) -> None:
    hub.grant()
    hub.run_jobs()
    response = hub.post("ResendAccess", {"ref": "rsv_one", "via": ["sms"]})
    assert response.status_code == 200
    assert len(response.json()["deliveries"]) == 3
    hub.run_jobs()
    assert len(hub.message_files()) == 3
    assert hub.post("ResendAccess", {"ref": "rsv_nope"}).status_code == 404


def test_openapi_document__lists_the_hub_actions(hub: HubWorld) -> None:
    paths = hub.http.get("/hub/openapi.json").json()["paths"]
    for path in ("/hub/v1/GrantAccess", "/hub/v1/grants/{ref}", "/hub/v1/controller-events"):
        assert path in paths
    assert hub.http.get("/healthz").json()["contexts"] == {"hub": True}


def test_grant_access__site_pin_length__sets_the_code_length(hub: HubWorld) -> None:
    from hallkey.hub import create_door, create_site

    with hub.ctx.database.transaction() as session:
        site_id, _ = create_site(
            hub.ctx, session, client_id=hub.client_id, name="Hallen", connector="memory",
            config={}, pin_length=8,
        )  # fmt: skip
        create_door(hub.ctx, session, site_id=site_id, name="Hall", door_id="hall-1")
    grant = hub.grant(doors=["hall-1"])
    assert len(grant["code"]) == 8
    assert grant["code_formatted"] == grant["code"] + "#"


def test_validation_errors__do_not_echo_the_recipient(hub: HubWorld) -> None:
    for recipient in ({"phone": "+47 1234"}, {"email": "kari.nordmann@"}):
        response = hub.post("GrantAccess", hub.grant_body(recipient=recipient))
        assert response.status_code == 422
        value = next(iter(recipient.values()))
        assert value not in response.text


def test_program_landing_after_a_revoke__door_ends_revoked(hub: HubWorld) -> None:
    """A slow program call that reaches the door after the revocation must not win."""
    code = hub.grant()["code"]
    lock = hub.ctx.connectors.memory
    revoked_meanwhile: list[bool] = []

    class SlowDoor(MemoryConnector):
        def program(self, door: DoorTarget, ref: str, credential: Credential) -> None:
            if not revoked_meanwhile:
                revoked_meanwhile.append(True)
                # While this call is on its way, the grant is revoked and the revoke applied.
                assert hub.post("RevokeAccess", {"ref": ref}).status_code == 200
                hub.run_jobs()
                assert not lock.try_code("door-a", code, START).granted
            super().program(door, ref, credential)  # ... and then the old call lands

    hub.ctx.connectors.register("memory", lambda config: SlowDoor(lock))
    hub.run_jobs()

    assert revoked_meanwhile == [True]
    assert not lock.try_code("door-a", code, START).granted
    assert hub.get("grants/rsv_one").json()["doors"] == [
        {"id": "door-a", "state": "revoked", "errors": []}
    ]


def test_code_clash_at_the_door__is_retried_and_programmed_once_it_clears(
    hub: HubWorld,
) -> None:
    code = hub.grant()["code"]
    lock = hub.ctx.connectors.memory
    # The door still holds the code for a ref whose move it has not heard of yet.
    lock.program("door-a", "rsv_moving", Credential("pin", code, (Window(START, END),)))
    hub.run_jobs()
    door = hub.get("grants/rsv_one").json()["doors"][0]
    assert door["state"] == "pending"
    assert door["errors"][0]["code"] == "code_rejected"

    lock.revoke("door-a", "rsv_moving")
    hub.clock.advance(timedelta(minutes=5))
    hub.run_jobs()
    assert hub.get("grants/rsv_one").json()["doors"][0]["state"] == "programmed"
    assert lock.try_code("door-a", code, START).ref == "rsv_one"


def test_grant_access__unknown_top_level_field__is_422_and_nothing_stored(hub: HubWorld) -> None:
    response = hub.post("GrantAccess", {**hub.grant_body(), "name": "Kari Nordmann"})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "name"
    assert "Kari" not in response.text
    assert _count_grants(hub) == 0


def test_update_access__windows_and_valid_from_together__is_422(hub: HubWorld) -> None:
    hub.grant()
    body = {
        "ref": "rsv_one",
        "valid_from": iso(START),
        "windows": [{"valid_from": iso(START), "valid_to": iso(END)}],
    }
    response = hub.post("UpdateAccess", body)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "windows"


def test_grant_access__no_free_code_left__is_409_not_500(
    hub: HubWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    def exhausted(length: int, taken: object, **_: object) -> str:
        raise RuntimeError("no free PIN code found")

    monkeypatch.setattr("hallkey.hub.grant_checks.generate_pin", exhausted)
    response = hub.post("GrantAccess", hub.grant_body())
    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "no_free_code"
    assert _count_grants(hub) == 0


def test_grant_access__grants_at_one_door_side_by_side__each_its_own_code(
    hub: HubWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Grants at one door that arrive together choose their codes in turn (the door's row
    lock, on PostgreSQL): none takes a code another holds at that time, and none fails."""
    codes = ["482915", "573026", "684137", "795248"]

    def first_free(length: int, is_taken: Callable[[str], bool], **_: object) -> str:
        # The same order for every grant: without the lock two would take the same one.
        for code in codes:
            if not is_taken(code):
                return code
        raise RuntimeError("no free code")

    monkeypatch.setattr("hallkey.hub.grant_checks.generate_pin", first_free)
    app = create_app([build_part(hub.ctx)], run_workers=False)
    answers: list[httpx.Response] = []
    start = threading.Barrier(len(codes))
    with serving(app) as server:

        def call(n: int) -> None:
            start.wait(10)
            response = httpx.post(
                f"{server.base_url}/hub/v1/GrantAccess",
                json=hub.grant_body(f"rsv_side_{n}"),
                headers=hub.headers(),
                timeout=30,
            )
            answers.append(response)

        threads = [threading.Thread(target=call, args=(n,)) for n in range(len(codes))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert [a.status_code for a in answers] == [201] * len(codes), [a.text for a in answers]
    assert sorted(a.json()["code"] for a in answers) == codes
    assert hub.post("GrantAccess", hub.grant_body("rsv_side_late")).status_code == 409
