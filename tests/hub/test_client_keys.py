"""A client's several API keys: rotation without a gap, revocation at once, never the last."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import select

from hallkey.hub.models import ClientKey
from tests.hub.conftest import HubWorld
from tests.hub.test_operator import _operator


def _new_client(hub: HubWorld, operator: dict[str, str]) -> tuple[str, str]:
    made = hub.http.post("/hub/v1/operator/clients", json={"name": "Nyby"}, headers=operator)
    assert made.status_code == 201, made.text
    return str(made.json()["id"]), str(made.json()["api_key"])


def test_client_keys__rotate__both_work_until_the_old_is_revoked_then_only_the_new(
    hub: HubWorld,
) -> None:
    operator = _operator(hub)
    client_id, old = _new_client(hub, operator)
    base = f"/hub/v1/operator/clients/{client_id}/keys"
    hub.clock.advance(timedelta(minutes=1))

    added = hub.http.post(base, json={"name": "2027 key"}, headers=operator)
    assert added.status_code == 201, added.text
    new = added.json()["api_key"]
    assert new.startswith("hkh_") and new != old
    assert hub.get("doors", key=old).status_code == 200
    assert hub.get("doors", key=new).status_code == 200

    listed = hub.http.get(base, headers=operator).json()
    assert [k["name"] for k in listed] == ["2027 key", "first key"]
    assert all("api_key" not in k and "secret" not in str(k) for k in listed)
    assert new.removeprefix("hkh_").split(".")[0] == listed[0]["key_id"]
    first = next(k for k in listed if k["name"] == "first key")

    revoked = hub.http.post(f"{base}/{first['id']}/revoke", headers=operator)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    assert hub.get("doors", key=old).status_code == 401
    assert hub.get("doors", key=new).status_code == 200
    again = hub.http.post(f"{base}/{first['id']}/revoke", headers=operator)
    assert again.status_code == 200  # a repeat changes nothing


def test_client_keys__the_last_live_key__cannot_be_revoked(hub: HubWorld) -> None:
    operator = _operator(hub)
    client_id, key = _new_client(hub, operator)
    base = f"/hub/v1/operator/clients/{client_id}/keys"
    only = hub.http.get(base, headers=operator).json()[0]

    refused = hub.http.post(f"{base}/{only['id']}/revoke", headers=operator)

    assert refused.status_code == 409 and refused.json()["error"]["code"] == "last_key"
    assert hub.get("doors", key=key).status_code == 200


def test_client_keys__two_revocations_at_once__leave_one_key_live(hub: HubWorld) -> None:
    operator = _operator(hub)
    client_id, _ = _new_client(hub, operator)
    base = f"/hub/v1/operator/clients/{client_id}/keys"
    hub.http.post(base, json={"name": "second"}, headers=operator)
    ids = [k["id"] for k in hub.http.get(base, headers=operator).json()]

    with ThreadPoolExecutor(2) as pool:
        answers = list(
            pool.map(lambda i: hub.http.post(f"{base}/{i}/revoke", headers=operator), ids)
        )

    assert sorted(a.status_code for a in answers) == [200, 409]
    with hub.ctx.database.transaction() as session:
        live = session.scalars(
            select(ClientKey).where(
                ClientKey.client_id == client_id, ClientKey.revoked_at.is_(None)
            )
        ).all()
    assert len(live) == 1


def test_client_keys__bad_input__names_the_field_and_changes_nothing(hub: HubWorld) -> None:
    operator = _operator(hub)
    client_id, _ = _new_client(hub, operator)
    base = f"/hub/v1/operator/clients/{client_id}/keys"

    empty = hub.http.post(base, json={"name": ""}, headers=operator)
    unknown_client = hub.http.post(
        "/hub/v1/operator/clients/cli_nope/keys", json={"name": "x"}, headers=operator
    )
    other_clients_key = hub.http.post(f"{base}/ck_nope/revoke", headers=operator)
    as_client = hub.http.get(base, headers=hub.headers())

    assert empty.status_code == 422 and empty.json()["error"]["field"] == "name"
    assert unknown_client.status_code == 404
    assert other_clients_key.status_code == 404
    assert as_client.status_code == 401
    assert len(hub.http.get(base, headers=operator).json()) == 1
