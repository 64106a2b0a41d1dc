"""One ref's credential on several doors in one request, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select, update

from hallkey.locks import create_controller, create_door
from hallkey.locks.models import Door
from tests.locks.conftest import DOOR, T0, Locks, window
from tests.sql import statements

CODE = "482915"
HOUR = timedelta(hours=1)
SIDE = "door-side"
WINDOWS = [window(T0 + HOUR, T0 + 2 * HOUR)]


def _add_side_door(locks: Locks) -> None:
    with locks.ctx.database.transaction() as session:
        create_door(
            locks.ctx, session, controller_id=locks.controller_id, name="Side", door_id=SIDE
        )


def _other_controller(locks: Locks) -> dict[str, str]:
    """Adds another controller with the door `door-gym`; returns its auth header."""
    with locks.ctx.database.transaction() as session:
        other_id, other_key = create_controller(locks.ctx, session, name="Other school")
        create_door(locks.ctx, session, controller_id=other_id, name="Gym", door_id="door-gym")
    return {"Authorization": f"Bearer {other_key}"}


def _put(
    locks: Locks,
    doors: list[str] | list[dict[str, str]],
    *,
    ref: str = "rsv_1",
    code: str = CODE,
    version: int = 0,
    windows: list[dict[str, str]] = WINDOWS,
) -> httpx.Response:
    items = [{"id": d} if isinstance(d, str) else d for d in doors]
    body = {"type": "pin", "code": code, "windows": windows, "version": version, "doors": items}
    response: httpx.Response = locks.client.put(
        f"/locks/v1/credentials/{ref}", json=body, headers=locks.auth
    )
    return response


def _revoke(locks: Locks, doors: list[str], *, ref: str = "rsv_1", version: int = 0) -> Any:
    response = locks.client.post(
        f"/locks/v1/credentials/{ref}/revoke",
        json={"doors": doors, "version": version},
        headers=locks.auth,
    )
    assert response.status_code == 200, response.text
    return response.json()


def _listed(locks: Locks, door: str, headers: dict[str, str] | None = None) -> Any:
    response = locks.client.get(
        f"/locks/v1/doors/{door}/credentials", headers=headers or locks.auth
    )
    assert response.status_code == 200, response.text
    return response.json()


def _outcomes(response: httpx.Response) -> list[tuple[str, bool, str | None]]:
    assert response.status_code == 200, response.text
    return [
        (d["door"], d["ok"], d["error"]["code"] if not d["ok"] else None)
        for d in response.json()["doors"]
    ]


def _credential(ref: str, door: str, *, version: int = 0, revoked: bool = False) -> Any:
    return {
        "door": door,
        "ref": ref,
        "type": "pin",
        "windows": WINDOWS,
        "revoked": revoked,
        "version": version,
    }


def test_batch_put__programs_every_door__and_each_keypad_opens(locks: Locks) -> None:
    _add_side_door(locks)
    response = _put(locks, [SIDE, DOOR])
    assert response.status_code == 200, response.text
    assert response.json() == {
        "ref": "rsv_1",
        "doors": [
            {"door": SIDE, "ok": True, "credential": _credential("rsv_1", SIDE)},
            {"door": DOOR, "ok": True, "credential": _credential("rsv_1", DOOR)},
        ],
    }
    assert CODE not in response.text
    assert locks.keypad(CODE, door=DOOR)["reason"] == "outside_window"
    locks.clock.set(T0 + HOUR)
    for door in (DOOR, SIDE):
        assert locks.keypad(CODE + "#", door=door) == {"granted": True, "ref": "rsv_1"}
        assert locks.keypad("000000", door=door)["reason"] == "unknown_code"


def test_batch_put__reads_the_refs_credentials_and_the_codes_holders_once_for_all_doors(
    locks: Locks,
) -> None:
    """Each door's credential of the ref, and the credentials already holding the code, are
    read in one statement each for the whole batch, not once a door."""
    doors = [DOOR, SIDE, "door-back"]
    with locks.ctx.database.transaction() as session:
        for door_id in doors[1:]:
            create_door(
                locks.ctx, session, controller_id=locks.controller_id, name=door_id, door_id=door_id
            )
    assert _outcomes(_put(locks, [DOOR], ref="rsv_0", windows=[window(T0, T0 + HOUR)])) == [
        (DOOR, True, None)  # the code is held on one door, at another time
    ]
    for version in (0, 1):  # new on every door; then changed on every door
        with statements(locks.ctx.database.engine) as seen:
            outcomes = _outcomes(_put(locks, doors, version=version))
        assert outcomes == [(door, True, None) for door in doors]
        reads = [s for s in seen if s.startswith("SELECT") and "FROM locks_credentials " in s]
        assert len(reads) == 2, reads


def test_batch_put__unknown_or_other_controllers_door__is_that_doors_error_the_rest_programmed(
    locks: Locks,
) -> None:
    _add_side_door(locks)
    other = _other_controller(locks)
    response = _put(locks, [DOOR, "door-gym", "door-nowhere", SIDE])
    assert _outcomes(response) == [
        (DOOR, True, None),
        ("door-gym", False, "unknown_door"),
        ("door-nowhere", False, "unknown_door"),
        (SIDE, True, None),
    ]
    assert response.json()["doors"][1]["error"]["message"] == "no such door on this controller"
    assert _listed(locks, "door-gym", other) == []
    locks.clock.set(T0 + HOUR)
    assert locks.keypad(CODE, door=DOOR)["granted"] is True
    assert locks.keypad(CODE, door=SIDE)["granted"] is True


def test_batch_put__code_clash_on_one_door__refuses_only_it_and_leaves_it_untouched(
    locks: Locks,
) -> None:
    _add_side_door(locks)
    held_code = "551937"
    assert _put(locks, [SIDE], code=held_code, version=1).status_code == 200
    assert locks.put_pin("rsv_0", CODE, WINDOWS, door=SIDE).status_code == 200
    before = _listed(locks, SIDE)

    response = _put(
        locks, [{"id": DOOR}, {"id": SIDE, "hub_door": "hub-side"}], code=CODE, version=2
    )
    assert _outcomes(response) == [(DOOR, True, None), (SIDE, False, "code_rejected")]
    assert CODE not in response.text
    assert _listed(locks, SIDE) == before  # rsv_1 keeps its old code and version
    with locks.ctx.database.transaction() as session:
        assert session.get(Door, SIDE).hub_door_id is None  # type: ignore[union-attr]
    locks.clock.set(T0 + HOUR)
    assert locks.keypad(CODE, door=DOOR) == {"granted": True, "ref": "rsv_1"}
    assert locks.keypad(CODE, door=SIDE) == {"granted": True, "ref": "rsv_0"}
    assert locks.keypad(held_code, door=SIDE) == {"granted": True, "ref": "rsv_1"}
    assert locks.keypad(held_code, door=DOOR)["reason"] == "unknown_code"


def test_batch_put__full_door__is_no_space_on_door_the_others_programmed(locks: Locks) -> None:
    _add_side_door(locks)
    with locks.ctx.database.transaction() as session:
        session.execute(update(Door).where(Door.id == SIDE).values(max_credentials=1))
    assert locks.put_pin("rsv_0", "100001", WINDOWS, door=SIDE).status_code == 200
    response = _put(locks, [SIDE, DOOR])
    assert _outcomes(response) == [(SIDE, False, "no_space_on_door"), (DOOR, True, None)]
    assert [c["ref"] for c in _listed(locks, SIDE)] == ["rsv_0"]
    assert [c["ref"] for c in _listed(locks, DOOR)] == ["rsv_1"]


def test_batch_put__hub_door_is_kept_per_door(locks: Locks) -> None:
    _add_side_door(locks)
    response = _put(locks, [{"id": DOOR, "hub_door": "hub-main"}, {"id": SIDE}])
    assert _outcomes(response) == [(DOOR, True, None), (SIDE, True, None)]
    with locks.ctx.database.transaction() as session:
        held = {
            row.id: row.hub_door_id for row in session.execute(select(Door.id, Door.hub_door_id))
        }
    assert held == {DOOR: "hub-main", SIDE: None}


def test_batch_put__body_the_single_put_refuses__is_the_same_422_and_changes_nothing(
    locks: Locks,
) -> None:
    _add_side_door(locks)
    good = {"type": "pin", "code": CODE, "windows": WINDOWS}
    bodies: list[tuple[dict[str, Any], str]] = [
        ({**good, "code": "12ab56"}, "code"),
        ({**good, "code": "123"}, "code"),
        ({"type": "pin", "windows": WINDOWS}, "code"),
        ({**good, "type": "mobile_key"}, "code"),
        ({"type": "mobile_key", "windows": WINDOWS}, "keys"),
        ({**good, "type": "unlock"}, "code"),
        ({**good, "windows": [window(T0 + 2 * HOUR, T0 + HOUR)]}, "windows"),
        ({**good, "windows": []}, "windows"),
        ({**good, "version": -1}, "version"),
        ({**good, "version": 2**63}, "version"),
        ({**good, "name": "Kari Nordmann"}, "name"),
    ]
    for body, field in bodies:
        single = locks.client.put(
            f"/locks/v1/doors/{DOOR}/credentials/rsv_1", json=body, headers=locks.auth
        )
        batch = locks.client.put(
            "/locks/v1/credentials/rsv_1",
            json={**body, "doors": [{"id": DOOR}, {"id": SIDE}]},
            headers=locks.auth,
        )
        assert single.status_code == batch.status_code == 422, (body, batch.text)
        assert single.json()["error"]["field"] == batch.json()["error"]["field"] == field
        assert single.json() == batch.json()
        assert CODE not in batch.text
    doors_cases: list[tuple[Any, str]] = [
        ([], "doors"),
        ([{"id": DOOR}, {"id": SIDE}, {"id": DOOR}], "doors"),
        ([{"id": f"d{i}"} for i in range(65)], "doors"),
        ([{"id": ""}], "doors.0.id"),
        ([{"id": DOOR, "name": "x"}], "doors.0.name"),
        (None, "doors"),
    ]
    for doors, field in doors_cases:
        body = dict(good) if doors is None else {**good, "doors": doors}
        response = locks.client.put("/locks/v1/credentials/rsv_1", json=body, headers=locks.auth)
        assert response.status_code == 422, (doors, response.text)
        assert response.json()["error"]["field"] == field
    bad_ref = locks.client.put(
        "/locks/v1/credentials/%2E%2E", json={**good, "doors": [{"id": DOOR}]}, headers=locks.auth
    )
    assert (bad_ref.status_code, bad_ref.json()["error"]["field"]) == (422, "ref")
    assert _listed(locks, DOOR) == _listed(locks, SIDE) == []


def test_batch_put__stale_write__is_ok_with_what_the_door_holds(locks: Locks) -> None:
    _add_side_door(locks)
    assert _outcomes(_put(locks, [DOOR, SIDE], version=2)) == [
        (DOOR, True, None),
        (SIDE, True, None),
    ]
    assert _revoke(locks, [SIDE], version=3)["doors"][0]["ok"] is True
    late = _put(locks, [DOOR, SIDE], code="777123", version=1)
    assert late.status_code == 200, late.text
    assert late.json()["doors"] == [
        {"door": DOOR, "ok": True, "credential": _credential("rsv_1", DOOR, version=2)},
        {
            "door": SIDE,
            "ok": True,
            "credential": _credential("rsv_1", SIDE, version=3, revoked=True),
        },
    ]
    locks.clock.set(T0 + HOUR)
    assert locks.keypad(CODE, door=DOOR)["granted"] is True
    assert locks.keypad("777123", door=DOOR)["reason"] == "unknown_code"
    assert locks.keypad(CODE, door=SIDE)["reason"] == "revoked"


def test_batch_put__repeated__is_idempotent(locks: Locks) -> None:
    _add_side_door(locks)
    first = _put(locks, [DOOR, SIDE], version=1)
    second = _put(locks, [DOOR, SIDE], version=1)
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    for door in (DOOR, SIDE):
        assert _listed(locks, door) == [
            {"ref": "rsv_1", "type": "pin", "windows": WINDOWS, "revoked": False, "version": 1}
        ]


def test_batch_revoke__revokes_each_door_also_an_unknown_ref_and_names_unknown_doors(
    locks: Locks,
) -> None:
    _add_side_door(locks)
    _put(locks, [DOOR, SIDE], version=1)
    answer = _revoke(locks, [SIDE, "door-nowhere", DOOR], version=2)
    assert answer["ref"] == "rsv_1"
    assert answer["doors"] == [
        {"door": SIDE, "ok": True, "revoked": {"door": SIDE, "ref": "rsv_1", "revoked": True}},
        {
            "door": "door-nowhere",
            "ok": False,
            "error": {"code": "unknown_door", "message": "no such door on this controller"},
        },
        {"door": DOOR, "ok": True, "revoked": {"door": DOOR, "ref": "rsv_1", "revoked": True}},
    ]
    locks.clock.set(T0 + HOUR)
    for door in (DOOR, SIDE):
        assert locks.keypad(CODE, door=door) == {"granted": False, "reason": "revoked"}
    # Again: idempotent. A ref never programmed is recorded as revoked, so a late PUT of it
    # at that version changes nothing.
    assert _revoke(locks, [DOOR, SIDE], version=2)["doors"][0]["ok"] is True
    never = _revoke(locks, [DOOR, SIDE], ref="rsv_x", version=5)
    assert [d["revoked"]["revoked"] for d in never["doors"]] == [True, True]
    late = _put(locks, [DOOR], ref="rsv_x", code="246813", version=5)
    assert late.json()["doors"][0]["credential"]["revoked"] is True
    assert locks.keypad("246813", door=DOOR)["reason"] == "unknown_code"  # never stored


def test_batch_revoke__stale_revoke__is_ignored(locks: Locks) -> None:
    _add_side_door(locks)
    _put(locks, [DOOR, SIDE], version=3)
    answer = _revoke(locks, [DOOR, SIDE], version=2)
    assert [d["revoked"]["revoked"] for d in answer["doors"]] == [False, False]
    locks.clock.set(T0 + HOUR)
    assert locks.keypad(CODE, door=SIDE)["granted"] is True


def test_batch_revoke__bad_body__is_422_and_changes_nothing(locks: Locks) -> None:
    _add_side_door(locks)
    _put(locks, [DOOR, SIDE])
    cases: list[tuple[dict[str, Any], str]] = [
        ({"doors": []}, "doors"),
        ({"doors": [DOOR, DOOR]}, "doors"),
        ({"doors": [f"d{i}" for i in range(65)]}, "doors"),
        ({"doors": [DOOR], "version": 2**63}, "version"),
        ({"doors": [DOOR], "version": -1}, "version"),
        ({"doors": [DOOR], "version": "1"}, "version"),
        ({"version": 1}, "doors"),
    ]
    for body, field in cases:
        response = locks.client.post(
            "/locks/v1/credentials/rsv_1/revoke", json=body, headers=locks.auth
        )
        assert response.status_code == 422, (body, response.text)
        assert response.json()["error"]["field"] == field
    assert [c["revoked"] for c in _listed(locks, DOOR) + _listed(locks, SIDE)] == [False, False]


def test_batch_routes__without_a_valid_key__are_401(locks: Locks) -> None:
    other = _other_controller(locks)
    wrong_secret = locks.key.rsplit(".", 1)[0] + ".wrong"
    body = {"type": "pin", "code": CODE, "windows": WINDOWS, "doors": [{"id": DOOR}]}
    for headers in ({}, {"Authorization": f"Bearer {wrong_secret}"}):
        put = locks.client.put("/locks/v1/credentials/rsv_1", json=body, headers=headers)
        revoke = locks.client.post(
            "/locks/v1/credentials/rsv_1/revoke", json={"doors": [DOOR]}, headers=headers
        )
        for response in (put, revoke):
            assert response.status_code == 401, response.text
            assert response.json()["error"]["code"] == "unauthorized"
    # Another controller's key reaches none of this controller's doors.
    response = locks.client.put("/locks/v1/credentials/rsv_1", json=body, headers=other)
    assert _outcomes(response) == [(DOOR, False, "unknown_door")]
    assert _listed(locks, DOOR) == []


def test_openapi_document__describes_the_batch_routes(locks: Locks) -> None:
    paths = locks.client.get("/locks/openapi.json").json()["paths"]
    put = paths["/locks/v1/credentials/{ref}"]["put"]
    revoke = paths["/locks/v1/credentials/{ref}/revoke"]["post"]
    for operation, answer in ((put, "CredentialsOut"), (revoke, "CredentialsRevoked")):
        assert operation["summary"]
        ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert ok == {"$ref": f"#/components/schemas/{answer}"}
        assert "401" in operation["responses"] and "422" in operation["responses"]
