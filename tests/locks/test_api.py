"""The door controller through HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from prometheus_client import REGISTRY
from sqlalchemy import select, text, update

from hallkey.locks import create_context, create_controller, create_door
from hallkey.locks.models import Base, Credential, Door, Event
from tests.locks.conftest import DOOR, T0, Locks, window, z

CODE = "482915"
HOUR = timedelta(hours=1)


def _program(locks: Locks, ref: str = "rsv_1", code: str = CODE) -> None:
    response = locks.put_pin(ref, code, [window(T0 + HOUR, T0 + 2 * HOUR)])
    assert response.status_code == 200, response.text


def test_keypad__code_inside_window__is_granted_with_ref_and_unlocks_the_door(
    locks: Locks,
) -> None:
    response = locks.put_pin("rsv_1", CODE, [window(T0 + HOUR, T0 + 2 * HOUR)])
    assert response.status_code == 200
    assert response.json() == {
        "door": DOOR,
        "ref": "rsv_1",
        "type": "pin",
        "windows": [window(T0 + HOUR, T0 + 2 * HOUR)],
        "revoked": False,
        "version": 0,
    }
    assert locks.door_state()["locked"] is True
    assert locks.door_state()["unlocked_until"] is None

    locks.clock.set(T0 + HOUR)  # valid at valid_from
    assert locks.keypad(CODE + "#") == {"granted": True, "ref": "rsv_1"}
    state = locks.door_state()
    assert state == {
        "id": DOOR,
        "name": "Main entrance",
        "locked": False,
        "unlocked_until": z(T0 + HOUR + timedelta(seconds=5)),
        "online": True,
    }
    locks.advance(seconds=5)
    assert locks.door_state()["locked"] is True
    assert locks.door_state()["unlocked_until"] is None

    assert locks.keypad(CODE) == {"granted": True, "ref": "rsv_1"}  # the `#` may be left out
    assert locks.keypad(" 482 915 # ") == {"granted": True, "ref": "rsv_1"}
    kinds = [(e["kind"], e["ref"], e["reason"]) for e in locks.events()]
    assert kinds == [("access_granted", "rsv_1", None)] * 3


def test_keypad__at_valid_to_and_before_valid_from__is_outside_window(locks: Locks) -> None:
    _program(locks)
    locks.clock.set(T0 + HOUR - timedelta(seconds=1))
    assert locks.keypad(CODE) == {"granted": False, "reason": "outside_window"}
    locks.clock.set(T0 + 2 * HOUR)
    assert locks.keypad(CODE) == {"granted": False, "reason": "outside_window"}
    assert locks.door_state()["locked"] is True
    events = locks.events()
    assert [(e["kind"], e["ref"], e["reason"]) for e in events] == [
        ("access_denied", "rsv_1", "outside_window")
    ] * 2


def test_keypad__wrong_or_malformed_code__is_unknown_code(locks: Locks) -> None:
    _program(locks)
    locks.clock.set(T0 + HOUR)
    for typed in ("482916", "12", "abcdef", "482915##", ""):
        assert locks.keypad(typed) == {"granted": False, "reason": "unknown_code"}
    assert locks.events()[0]["ref"] is None


def test_keypad__code_sent_as_a_json_number__is_422_naming_code_and_counts_nothing(
    locks: Locks,
) -> None:
    locks.put_pin("rsv_0", "012345", [window(T0, T0 + HOUR)])
    for number in (12345, 12345.0, True, None, ["012345"]):
        for _ in range(6):  # more than the lock-out threshold
            response = locks.client.post(
                f"/locks/v1/doors/{DOOR}/keypad", json={"code": number}, headers=locks.auth
            )
            assert response.status_code == 422, (number, response.text)
            assert response.json()["error"]["field"] == "code"
    assert locks.events() == []
    assert locks.keypad("012345") == {"granted": True, "ref": "rsv_0"}  # never locked out


def test_keypad__after_delete__is_revoked(locks: Locks) -> None:
    _program(locks)
    locks.clock.set(T0 + HOUR)
    response = locks.client.delete(f"/locks/v1/doors/{DOOR}/credentials/rsv_1", headers=locks.auth)
    assert response.status_code == 200
    assert response.json() == {"door": DOOR, "ref": "rsv_1", "revoked": True}
    assert locks.keypad(CODE) == {"granted": False, "reason": "revoked"}
    again = locks.client.delete(f"/locks/v1/doors/{DOOR}/credentials/rsv_1", headers=locks.auth)
    assert again.status_code == 200

    _program(locks)  # at the version of the revocation, a PUT changes nothing
    assert locks.keypad(CODE) == {"granted": False, "reason": "revoked"}
    reprogrammed = locks.client.put(
        f"/locks/v1/doors/{DOOR}/credentials/rsv_1",
        json={"type": "pin", "code": CODE, "windows": [window(T0, T0 + 2 * HOUR)], "version": 1},
        headers=locks.auth,
    )  # a newer version un-revokes
    assert reprogrammed.json()["revoked"] is False
    assert locks.keypad(CODE) == {"granted": True, "ref": "rsv_1"}


def test_delete__never_programmed_ref__is_recorded_as_revoked(locks: Locks) -> None:
    response = locks.client.delete(f"/locks/v1/doors/{DOOR}/credentials/rsv_x", headers=locks.auth)
    assert response.status_code == 200
    listed = locks.client.get(f"/locks/v1/doors/{DOOR}/credentials", headers=locks.auth)
    assert listed.json() == [
        {"ref": "rsv_x", "type": "pin", "windows": [], "revoked": True, "version": 0}
    ]


def test_keypad__five_wrong_codes__lock_out_even_the_right_code_for_five_minutes(
    locks: Locks,
) -> None:
    locks.put_pin("rsv_1", CODE, [window(T0, T0 + 3 * HOUR)])
    for i in range(4):
        assert locks.keypad(f"11111{i}")["reason"] == "unknown_code"
        locks.advance(seconds=30)
    assert locks.keypad("999999")["reason"] == "unknown_code"  # the 5th, at T0+2m
    fifth = T0 + timedelta(minutes=2)
    assert locks.keypad(CODE) == {"granted": False, "reason": "locked_out"}
    locks.clock.set(fifth + timedelta(minutes=4, seconds=59))
    assert locks.keypad(CODE) == {"granted": False, "reason": "locked_out"}
    assert locks.door_state()["locked"] is True

    locks.clock.set(fifth + timedelta(minutes=5))
    assert locks.keypad(CODE) == {"granted": True, "ref": "rsv_1"}
    # A fresh wrong code after the lock-out does not lock again at once.
    assert locks.keypad("000000")["reason"] == "unknown_code"
    assert locks.keypad(CODE)["granted"] is True

    kinds = [e["kind"] for e in locks.events()]
    assert kinds[:6] == ["access_denied"] * 5 + ["keypad_locked_out"]
    assert kinds.count("keypad_locked_out") == 1
    denied = [e["reason"] for e in locks.events() if e["kind"] == "access_denied"]
    assert denied.count("locked_out") == 1  # one per lock-out period, however many presses


def test_keypad__a_real_code_typed_too_early__does_not_lock_the_keypad_out(locks: Locks) -> None:
    locks.put_pin("rsv_1", CODE, [window(T0 + timedelta(minutes=2), T0 + HOUR)])
    locks.put_pin("rsv_0", "271828", [window(T0 - HOUR, T0 - timedelta(minutes=1))])
    for _ in range(5):
        assert locks.keypad(CODE)["reason"] == "outside_window"
        assert locks.keypad("271828")["reason"] == "outside_window"
    locks.clock.set(T0 + timedelta(minutes=2))
    assert locks.keypad(CODE) == {"granted": True, "ref": "rsv_1"}


def test_put_credential__same_code_on_same_door_at_overlapping_time__is_409_code_rejected(
    locks: Locks,
) -> None:
    _program(locks, "rsv_1")
    clash = locks.put_pin("rsv_2", CODE, [window(T0 + 90 * timedelta(minutes=1), T0 + 3 * HOUR)])
    assert clash.status_code == 409
    assert clash.json()["error"]["code"] == "code_rejected"
    assert CODE not in clash.text

    # Touching windows do not overlap; another code is fine; the same ref may be reprogrammed.
    assert locks.put_pin("rsv_2", CODE, [window(T0 + 2 * HOUR, T0 + 3 * HOUR)]).status_code == 200
    assert locks.put_pin("rsv_3", "482916", [window(T0, T0 + 3 * HOUR)]).status_code == 200
    assert locks.put_pin("rsv_1", CODE, [window(T0, T0 + HOUR)]).status_code == 200

    # A revoked credential does not hold its code.
    locks.client.delete(f"/locks/v1/doors/{DOOR}/credentials/rsv_3", headers=locks.auth)
    assert locks.put_pin("rsv_4", "482916", [window(T0, T0 + HOUR)]).status_code == 200


def test_put_credential__is_idempotent_and_replaces_windows(locks: Locks) -> None:
    windows = [
        window(T0 + HOUR, T0 + 2 * HOUR),
        window(T0 + 7 * 24 * HOUR, T0 + 7 * 24 * HOUR + HOUR),
    ]
    first = locks.put_pin("rsv_s", CODE, windows)
    second = locks.put_pin("rsv_s", CODE, windows)
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    moved = locks.put_pin("rsv_s", "777123", [window(T0 + 3 * HOUR, T0 + 4 * HOUR)])
    assert moved.status_code == 200
    listed = locks.client.get(f"/locks/v1/doors/{DOOR}/credentials", headers=locks.auth).json()
    assert listed == [
        {
            "ref": "rsv_s",
            "type": "pin",
            "windows": [window(T0 + 3 * HOUR, T0 + 4 * HOUR)],
            "revoked": False,
            "version": 0,
        }
    ]
    locks.clock.set(T0 + 3 * HOUR)
    assert locks.keypad(CODE)["reason"] == "unknown_code"
    assert locks.keypad("777123#") == {"granted": True, "ref": "rsv_s"}


def test_put_credential__door_full__is_409_no_space_on_door(locks: Locks) -> None:
    with locks.ctx.database.transaction() as session:
        session.execute(update(Door).where(Door.id == DOOR).values(max_credentials=2))
    _program(locks, "rsv_1", "100001")
    _program(locks, "rsv_2", "100002")
    full = locks.put_pin("rsv_3", "100003", [window(T0 + HOUR, T0 + 2 * HOUR)])
    assert full.status_code == 409
    assert full.json()["error"]["code"] == "no_space_on_door"
    _program(locks, "rsv_2", "100004")  # reprogramming a held ref needs no new place
    locks.client.delete(f"/locks/v1/doors/{DOOR}/credentials/rsv_1", headers=locks.auth)
    _program(locks, "rsv_3", "100003")


def test_put_credential__bad_input__is_422_and_changes_nothing(locks: Locks) -> None:
    good = [window(T0 + HOUR, T0 + 2 * HOUR)]
    reversed_window = [window(T0 + 2 * HOUR, T0 + HOUR)]
    cases = [
        ("rsv_1", {"type": "pin", "code": CODE, "windows": reversed_window}, "windows"),
        ("rsv_1", {"type": "pin", "code": CODE, "windows": []}, "windows"),
        ("rsv_1", {"type": "pin", "code": CODE, "windows": good * 501}, "windows"),
        ("rsv_1", {"type": "pin", "code": "12ab56", "windows": good}, "code"),
        ("rsv_1", {"type": "pin", "code": "123", "windows": good}, "code"),
        ("rsv_1", {"type": "sms", "code": CODE, "windows": good}, "type"),
        ("rsv_1", {"type": "mobile_key", "code": CODE, "windows": good}, "code"),
        (
            "rsv_1",
            {
                "type": "pin",
                "code": CODE,
                "windows": [{"valid_from": "2026-03-29T11:00:00", "valid_to": z(T0 + 2 * HOUR)}],
            },
            "windows.0.valid_from",
        ),
        ("bad ref!", {"type": "pin", "code": CODE, "windows": good}, "ref"),
    ]
    for ref, body, field in cases:
        response = locks.client.put(
            f"/locks/v1/doors/{DOOR}/credentials/{ref}", json=body, headers=locks.auth
        )
        assert response.status_code == 422, (body, response.text)
        assert response.json()["error"]["field"] == field
        assert CODE not in response.text
    listed = locks.client.get(f"/locks/v1/doors/{DOOR}/credentials", headers=locks.auth)
    assert listed.json() == []


def test_request_with_personal_fields__is_422_and_stores_nothing(locks: Locks) -> None:
    for extra in ({"name": "Kari Nordmann"}, {"phone": "+4791234567"}, {"email": "k@example.no"}):
        body = {"type": "pin", "code": CODE, "windows": [window(T0, T0 + HOUR)], **extra}
        response = locks.client.put(
            f"/locks/v1/doors/{DOOR}/credentials/rsv_1", json=body, headers=locks.auth
        )
        assert response.status_code == 422
        assert response.json()["error"]["field"] == next(iter(extra))
        pulse = locks.client.post(
            f"/locks/v1/doors/{DOOR}/pulse", json={"seconds": 5, **extra}, headers=locks.auth
        )
        assert pulse.status_code == 422
    with locks.ctx.database.transaction() as session:
        assert session.scalars(select(Credential)).all() == []
        assert session.scalars(select(Event)).all() == []


def test_plain_code__appears_nowhere_in_the_database(locks: Locks) -> None:
    code = "73948261"
    locks.put_pin("rsv_1", code, [window(T0, T0 + HOUR)])
    assert locks.keypad(code + "#")["granted"] is True
    locks.client.delete(f"/locks/v1/doors/{DOOR}/credentials/rsv_1", headers=locks.auth)
    assert locks.keypad(code)["granted"] is False
    locks.ctx.worker.run_pending()
    dump: list[str] = []
    with locks.ctx.database.transaction() as session:
        for table in Base.metadata.sorted_tables:
            rows = session.execute(select(table)).all()
            assert rows or table.name in (
                "locks_jobs",
                "locks_public_keys",
                "locks_operator_keys",
            ), table.name
            dump.extend(repr(tuple(row)) for row in rows)
        dump.extend(
            repr(tuple(row))
            for row in session.execute(text("SELECT * FROM locks_alembic_version")).all()
        )
    assert dump
    assert not any(code in row for row in dump)


def test_other_controllers_key__cannot_see_or_program_the_door(locks: Locks) -> None:
    with locks.ctx.database.transaction() as session:
        other_id, other_key = create_controller(locks.ctx, session, name="Other school")
        create_door(locks.ctx, session, controller_id=other_id, name="Gym", door_id="door-gym")
    other = {"Authorization": f"Bearer {other_key}"}
    _program(locks)
    base = f"/locks/v1/doors/{DOOR}"
    attempts = [
        locks.client.get(base, headers=other),
        locks.client.get(f"{base}/credentials", headers=other),
        locks.client.put(
            f"{base}/credentials/rsv_9",
            json={"type": "pin", "code": "555123", "windows": [window(T0, T0 + HOUR)]},
            headers=other,
        ),
        locks.client.delete(f"{base}/credentials/rsv_1", headers=other),
        locks.client.post(f"{base}/pulse", json={"seconds": 5}, headers=other),
        locks.client.post(f"{base}/keypad", json={"code": CODE}, headers=other),
        locks.client.get("/locks/v1/events", params={"door": DOOR}, headers=other),
    ]
    for response in attempts:
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "unknown_door"
    listed = locks.client.get("/locks/v1/doors", headers=other).json()
    assert [d["id"] for d in listed] == ["door-gym"]
    mine = locks.client.get("/locks/v1/doors", headers=locks.auth).json()
    assert [d["id"] for d in mine] == [DOOR]
    assert locks.client.get(f"{base}/credentials", headers=locks.auth).json()[0]["revoked"] is False
    assert locks.client.get("/locks/v1/doors/nope", headers=locks.auth).status_code == 404


def test_missing_or_wrong_key__is_401(locks: Locks) -> None:
    wrong_secret = locks.key.rsplit(".", 1)[0] + ".wrong"
    for headers in (
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer hkl_nothing"},
        {"Authorization": f"Bearer {wrong_secret}"},
    ):
        for response in (
            locks.client.get("/locks/v1/doors", headers=headers),
            locks.client.post(f"/locks/v1/doors/{DOOR}/keypad", json={}, headers=headers),
            locks.client.put(f"/locks/v1/doors/{DOOR}/credentials/rsv_1", json={}, headers=headers),
        ):
            assert response.status_code == 401, response.text
            assert response.json()["error"]["code"] == "unauthorized"


def test_pulse__unlocks_the_door_and_records_the_ref(locks: Locks) -> None:
    response = locks.client.post(
        f"/locks/v1/doors/{DOOR}/pulse", json={"seconds": 10, "ref": "rsv_7"}, headers=locks.auth
    )
    assert response.status_code == 200
    assert response.json() == {
        "id": DOOR,
        "name": "Main entrance",
        "locked": False,
        "unlocked_until": z(T0 + timedelta(seconds=10)),
        "online": True,
    }
    shorter = locks.client.post(
        f"/locks/v1/doors/{DOOR}/pulse", json={"seconds": 1}, headers=locks.auth
    )
    assert shorter.json()["unlocked_until"] == z(T0 + timedelta(seconds=10))
    locks.advance(seconds=10)
    assert locks.door_state()["locked"] is True
    for seconds in (0, 61):
        bad = locks.client.post(
            f"/locks/v1/doors/{DOOR}/pulse", json={"seconds": seconds}, headers=locks.auth
        )
        assert bad.status_code == 422
        assert bad.json()["error"]["field"] == "seconds"
    assert [(e["kind"], e["ref"]) for e in locks.events()] == [
        ("door_pulsed", "rsv_7"),
        ("door_pulsed", None),
    ]


def test_events__are_listed_oldest_first_and_filtered(locks: Locks) -> None:
    locks.put_pin("rsv_1", CODE, [window(T0, T0 + HOUR)])
    locks.put_pin("rsv_2", "555123", [window(T0, T0 + HOUR)])
    assert locks.keypad(CODE)["granted"]
    t1 = locks.advance(minutes=1)
    assert locks.keypad("555123")["granted"]
    locks.advance(minutes=1)
    assert locks.keypad("000000")["granted"] is False

    events = locks.events()
    assert [e["ref"] for e in events] == ["rsv_1", "rsv_2", None]
    assert set(events[0]) == {"id", "door", "ref", "kind", "reason", "at"}
    assert events[0]["at"] == z(T0)
    assert events[0]["door"] == DOOR
    assert events[0]["id"].startswith("evt_")
    assert [e["ref"] for e in locks.events(ref="rsv_2")] == ["rsv_2"]
    assert [e["ref"] for e in locks.events(since=z(t1))] == ["rsv_2", None]
    assert [e["ref"] for e in locks.events(since="2026-03-29T12:01:00+02:00")] == ["rsv_2", None]
    assert len(locks.events(limit="2")) == 2
    assert len(locks.events(door=DOOR)) == 3
    naive = locks.client.get(
        "/locks/v1/events", params={"since": "2026-03-29T10:00:00"}, headers=locks.auth
    )
    assert naive.status_code == 422
    assert naive.json()["error"]["field"] == "since"


def test_openapi_document__describes_the_locks_api(locks: Locks) -> None:
    doc = locks.client.get("/locks/openapi.json").json()
    assert "/locks/v1/doors/{door_id}/keypad" in doc["paths"]
    assert "/locks/v1/doors/{door_id}/credentials/{ref}" in doc["paths"]
    assert locks.client.get("/healthz").status_code == 200


def test_context__can_be_opened_again_on_a_migrated_database(locks: Locks) -> None:
    again = create_context(locks.ctx.settings, locks.clock)
    try:
        with again.database.transaction() as session:
            assert session.get(Door, DOOR) is not None
    finally:
        again.close()


def test_list_credentials__live__only_those_that_can_still_open_the_door(locks: Locks) -> None:
    locks.put_pin("rsv_ended", "246810", [window(T0 - 2 * HOUR, T0 - HOUR)])
    locks.put_pin("rsv_now", "135791", [window(T0 - HOUR, T0 + HOUR)])
    locks.put_pin("rsv_later", "975318", [window(T0 + HOUR, T0 + 2 * HOUR)])
    locks.put_pin("rsv_gone", "864209", [window(T0, T0 + HOUR)])
    locks.client.delete(f"/locks/v1/doors/{DOOR}/credentials/rsv_gone", headers=locks.auth)

    def refs(**params: str) -> list[str]:
        listed = locks.client.get(
            f"/locks/v1/doors/{DOOR}/credentials", params=params, headers=locks.auth
        )
        assert listed.status_code == 200, listed.text
        return [item["ref"] for item in listed.json()]

    assert refs() == ["rsv_ended", "rsv_gone", "rsv_later", "rsv_now"]
    assert refs(live="true") == ["rsv_later", "rsv_now"]
    locks.advance(seconds=3600)
    assert refs(live="true") == ["rsv_later"]


def test_put_credential__older_than_a_revocation__arrives_late_and_changes_nothing(
    locks: Locks,
) -> None:
    def put(version: int) -> dict[str, object]:
        response = locks.client.put(
            f"/locks/v1/doors/{DOOR}/credentials/rsv_1",
            json={"type": "pin", "code": CODE, "windows": [window(T0, T0 + HOUR)],
                  "version": version},
            headers=locks.auth,
        )  # fmt: skip
        assert response.status_code == 200, response.text
        body: dict[str, object] = response.json()
        return body

    assert put(1)["revoked"] is False
    revoked = locks.client.delete(
        f"/locks/v1/doors/{DOOR}/credentials/rsv_1?version=2", headers=locks.auth
    )
    assert revoked.json()["revoked"] is True
    late = put(1)  # the hub's first PUT, held up on the way, lands after the DELETE
    assert (late["revoked"], late["version"]) == (True, 2)
    assert locks.keypad(CODE)["reason"] == "revoked"
    # An older DELETE arriving after a newer PUT is ignored the same way.
    assert put(3)["revoked"] is False
    locks.client.delete(f"/locks/v1/doors/{DOOR}/credentials/rsv_1?version=2", headers=locks.auth)
    assert locks.keypad(CODE) == {"granted": True, "ref": "rsv_1"}


def test_put_credential__at_the_version_of_its_revocation__is_ignored_whichever_came_first(
    locks: Locks,
) -> None:
    def put(ref: str) -> dict[str, object]:
        response = locks.client.put(
            f"/locks/v1/doors/{DOOR}/credentials/{ref}",
            json={"type": "pin", "code": CODE, "windows": [window(T0, T0 + HOUR)], "version": 4},
            headers=locks.auth,
        )
        assert response.status_code == 200, response.text
        body: dict[str, object] = response.json()
        return body

    def revoke(ref: str) -> None:
        response = locks.client.delete(
            f"/locks/v1/doors/{DOOR}/credentials/{ref}?version=4", headers=locks.auth
        )
        assert response.json()["revoked"] is True

    put("rsv_1")
    revoke("rsv_1")  # the re-push landed first: a DELETE at an equal version revokes
    assert locks.keypad(CODE)["reason"] == "revoked"
    assert put("rsv_1")["revoked"] is True  # and a PUT at that version again changes nothing
    assert locks.keypad(CODE)["reason"] == "revoked"

    revoke("rsv_2")  # the revocation landed first: the re-push at its version is ignored
    assert put("rsv_2")["revoked"] is True
    live = locks.client.get(f"/locks/v1/doors/{DOOR}/credentials?live=true", headers=locks.auth)
    assert live.json() == []


def test_credential_version__beyond_64_bits_or_not_an_integer__is_422_naming_version(
    locks: Locks,
) -> None:
    base = f"/locks/v1/doors/{DOOR}/credentials/rsv_1"
    body = {"type": "pin", "code": CODE, "windows": [window(T0, T0 + HOUR)]}
    for version in (2**63, 2**64 + 5, 10**30, -1, True, "7", 1.0):
        response = locks.client.put(base, json={**body, "version": version}, headers=locks.auth)
        assert response.status_code == 422, (version, response.text)
        assert response.json()["error"]["field"] == "version"
    for query in (str(2**63), str(2**64 + 5), "-1", "x"):
        response = locks.client.delete(f"{base}?version={query}", headers=locks.auth)
        assert response.status_code == 422, (query, response.text)
        assert response.json()["error"]["field"] == "version"
    assert locks.client.get(f"/locks/v1/doors/{DOOR}/credentials", headers=locks.auth).json() == []


def test_credential_version__up_to_2_63_minus_1__is_kept_and_ordered(locks: Locks) -> None:
    base = f"/locks/v1/doors/{DOOR}/credentials/rsv_1"
    body = {"type": "pin", "code": CODE, "windows": [window(T0, T0 + HOUR)]}
    big = 2**63 - 1
    for version in (2**31, 2**53 + 1, big - 1):
        response = locks.client.put(base, json={**body, "version": version}, headers=locks.auth)
        assert (response.status_code, response.json()["version"]) == (200, version)
    revoked = locks.client.delete(f"{base}?version={big}", headers=locks.auth)
    assert revoked.json()["revoked"] is True
    late = locks.client.put(base, json={**body, "version": big - 1}, headers=locks.auth)
    assert (late.json()["revoked"], late.json()["version"]) == (True, big)


def test_keypad__on_a_moving_clock__locks_out_at_the_fifth_wrong_code(
    ticking_locks: Locks,
) -> None:
    locks = ticking_locks
    locks.put_pin("rsv_1", CODE, [window(T0, T0 + 3 * HOUR)])
    for i in range(5):
        assert locks.keypad(f"11111{i}") == {"granted": False, "reason": "unknown_code"}
    assert [e["kind"] for e in locks.events()][-1] == "keypad_locked_out"  # at the 5th
    assert locks.keypad("111115") == {"granted": False, "reason": "locked_out"}
    assert locks.keypad(CODE) == {"granted": False, "reason": "locked_out"}


def test_keypad__flood_while_locked_out__records_one_refusal_per_lock_out_period(
    locks: Locks,
) -> None:
    locks.put_pin("rsv_1", CODE, [window(T0, T0 + 3 * HOUR)])
    for i in range(5):
        locks.keypad(f"11111{i}")
    before = REGISTRY.get_sample_value("hallkey_locks_keypad_locked_out_presses_total") or 0.0
    for _ in range(40):
        assert locks.keypad(CODE) == {"granted": False, "reason": "locked_out"}
        locks.advance(seconds=5)
    kinds = [(e["kind"], e["reason"]) for e in locks.events()]
    assert kinds == [("access_denied", "unknown_code")] * 5 + [
        ("keypad_locked_out", None),
        ("access_denied", "locked_out"),
    ]
    after = REGISTRY.get_sample_value("hallkey_locks_keypad_locked_out_presses_total")
    assert after == before + 39  # the others are counted, not recorded
    # The next lock-out period records its own refusal.
    locks.advance(minutes=2)
    for i in range(5):
        assert locks.keypad(f"22222{i}")["reason"] == "unknown_code"
    assert locks.keypad(CODE)["reason"] == "locked_out"
    assert locks.keypad(CODE)["reason"] == "locked_out"
    assert [e["reason"] for e in locks.events()].count("locked_out") == 2


def test_keypad__more_than_60_entries_a_minute_at_one_door__is_429_with_retry_after(
    locks: Locks,
) -> None:
    with locks.ctx.database.transaction() as session:
        create_door(
            locks.ctx, session, controller_id=locks.controller_id, name="Gym", door_id="door-gym"
        )
    locks.put_pin("rsv_1", CODE, [window(T0, T0 + 3 * HOUR)])
    for _ in range(60):
        assert locks.keypad(CODE)["granted"] is True
    flood = locks.client.post(
        f"/locks/v1/doors/{DOOR}/keypad", json={"code": CODE}, headers=locks.auth
    )
    assert flood.status_code == 429
    assert flood.headers["Retry-After"] == "60"
    assert flood.json()["error"]["code"] == "too_many_requests"
    assert len(locks.events()) == 60  # the refused entry left no event
    assert locks.keypad("123987", door="door-gym")["reason"] == "unknown_code"  # per door
    locks.advance(seconds=60)
    assert locks.keypad(CODE)["granted"] is True


def test_ref__dot_segments_and_other_non_refs__are_422_naming_ref_on_every_endpoint(
    locks: Locks,
) -> None:
    body = {"type": "pin", "code": CODE, "windows": [window(T0, T0 + HOUR)]}
    base = f"/locks/v1/doors/{DOOR}/credentials"
    for quoted in ("%2E", "%2E%2E", "a%20b", "-rsv", "r" * 65):
        put = locks.client.put(f"{base}/{quoted}", json=body, headers=locks.auth)
        delete = locks.client.delete(f"{base}/{quoted}?version=1", headers=locks.auth)
        for response in (put, delete):
            assert response.status_code == 422, (quoted, response.text)
            assert response.json()["error"]["field"] == "ref"
    for ref in (".", ".."):
        pulse = locks.client.post(
            f"/locks/v1/doors/{DOOR}/pulse", json={"ref": ref}, headers=locks.auth
        )
        listed = locks.client.get("/locks/v1/events", params={"ref": ref}, headers=locks.auth)
        for response in (pulse, listed):
            assert response.status_code == 422, (ref, response.text)
            assert response.json()["error"]["field"] == "ref"
    assert locks.client.get(base, headers=locks.auth).json() == []
    assert locks.events() == []
