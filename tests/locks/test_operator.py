"""The controller operator's API: controllers (keys, hub link) and doors; its own key only."""

from __future__ import annotations

from hallkey.locks import issue_operator_key
from tests.locks.conftest import Locks


def _operator(locks: Locks) -> dict[str, str]:
    with locks.ctx.database.transaction() as session:
        _, key = issue_operator_key(locks.ctx, session, name="test")
    assert key.startswith("hklo_")
    return {"Authorization": f"Bearer {key}"}


def test_operator__new_controller_and_door__its_key_sees_only_that_door(locks: Locks) -> None:
    operator = _operator(locks)
    made = locks.client.post(
        "/locks/v1/operator/controllers", json={"name": "Nyby skole"}, headers=operator
    )
    assert made.status_code == 201, made.text
    door = locks.client.post(
        "/locks/v1/operator/doors",
        json={"controller_id": made.json()["id"], "id": "nyby-1", "name": "Inngang"},
        headers=operator,
    )
    assert door.status_code == 201, door.text
    key = {"Authorization": f"Bearer {made.json()['api_key']}"}
    assert [d["id"] for d in locks.client.get("/locks/v1/doors", headers=key).json()] == ["nyby-1"]
    listed = locks.client.get("/locks/v1/operator/controllers", headers=operator).json()
    assert {c["name"] for c in listed} == {"Sagene skole", "Nyby skole"}
    assert all("api_key" not in c for c in listed)


def test_operator__new_controller_key__the_old_one_stops(locks: Locks) -> None:
    operator = _operator(locks)
    renewed = locks.client.post(
        f"/locks/v1/operator/controllers/{locks.controller_id}/key", headers=operator
    )
    assert renewed.status_code == 200
    assert locks.client.get("/locks/v1/doors", headers=locks.auth).status_code == 401
    new = {"Authorization": f"Bearer {renewed.json()['api_key']}"}
    assert locks.client.get("/locks/v1/doors", headers=new).status_code == 200


def test_operator__bad_input__refused_naming_the_field(locks: Locks) -> None:
    operator = _operator(locks)
    doors = "/locks/v1/operator/doors"
    ours = locks.controller_id
    cases: list[tuple[str, dict[str, str], str]] = [
        (doors, {"controller_id": ours, "id": "a b", "name": "X"}, "id"),
        (doors, {"controller_id": ours, "id": locks.door, "name": "X"}, "id"),
        (doors, {"controller_id": "ctl_nobody", "name": "X"}, "controller_id"),
        ("/locks/v1/operator/controllers", {"name": ""}, "name"),
    ]
    for path, body, field in cases:
        answer = locks.client.post(path, json=body, headers=operator)
        assert answer.status_code in (400, 404, 409, 422), (body, answer.text)
        assert answer.json()["error"]["field"] == field, body
    link = locks.client.patch(
        f"/locks/v1/operator/controllers/{locks.controller_id}",
        json={"hub_events_url": "ftp://hub"},
        headers=operator,
    )
    assert link.status_code == 422 and link.json()["error"]["field"] == "hub_events_url"


def test_operator__controller_key__is_not_an_operator(locks: Locks) -> None:
    for key in (locks.key, "hkho_0123456789abcdef.secret"):
        answer = locks.client.get(
            "/locks/v1/operator/controllers", headers={"Authorization": f"Bearer {key}"}
        )
        assert answer.status_code == 401
