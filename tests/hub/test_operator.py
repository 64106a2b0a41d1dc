"""The hub operator's API: clients, sites with connectors, doors; its own key only."""

from __future__ import annotations

from typing import Any

from hallkey.hub import issue_operator_key
from hallkey.hub.models import Site
from tests.hub.conftest import HubWorld


def _operator(hub: HubWorld) -> dict[str, str]:
    with hub.ctx.database.transaction() as session:
        _, key = issue_operator_key(hub.ctx, session, name="test")
    assert key.startswith("hkho_")
    return {"Authorization": f"Bearer {key}"}


def _site(hub: HubWorld, operator: dict[str, str], client_id: str, **extra: Any) -> Any:
    body = {"client_id": client_id, "name": "Nytt bygg", "connector": "memory", **extra}
    return hub.http.post("/hub/v1/operator/sites", json=body, headers=operator)


def test_operator__new_client_site_and_door__the_client_grants_that_door(hub: HubWorld) -> None:
    operator = _operator(hub)
    client = hub.http.post("/hub/v1/operator/clients", json={"name": "Nyby"}, headers=operator)
    assert client.status_code == 201, client.text
    key = client.json()["api_key"]
    assert key.startswith("hkh_")
    site = _site(hub, operator, client.json()["id"])
    assert site.status_code == 201, site.text
    assert site.json()["events_token"].startswith("hke_")
    door = hub.http.post(
        "/hub/v1/operator/doors",
        json={"site_id": site.json()["id"], "id": "nyby-1", "name": "Inngang"},
        headers=operator,
    )
    assert door.status_code == 201, door.text
    doors = hub.get("doors", key=key).json()
    assert [d["id"] for d in doors] == ["nyby-1"]
    granted = hub.post("GrantAccess", hub.grant_body(ref="rsv_nyby", doors=["nyby-1"]), key)
    assert granted.status_code == 201, granted.text
    listed = hub.http.get("/hub/v1/operator/sites", headers=operator).json()
    assert "config" not in listed[0]


def test_operator__bad_site__refused_naming_the_field_and_nothing_made(hub: HubWorld) -> None:
    operator = _operator(hub)
    before = hub.http.get("/hub/v1/operator/sites", headers=operator).json()
    cases: list[tuple[dict[str, Any], str]] = [
        ({"connector": "telepathy"}, "config"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"pin_length": 12}, "pin_length"),
        ({"colour": "red"}, "colour"),
    ]
    for extra, field in cases:
        answer = _site(hub, operator, hub.client_id, **extra)
        assert answer.status_code in (400, 422), (extra, answer.text)
        assert answer.json()["error"]["field"] == field, extra
    unknown_client = _site(hub, operator, "cli_nobody")
    assert unknown_client.status_code == 404
    assert hub.http.get("/hub/v1/operator/sites", headers=operator).json() == before


def test_operator__door_id_taken__is_a_conflict(hub: HubWorld) -> None:
    operator = _operator(hub)
    answer = hub.http.post(
        "/hub/v1/operator/doors",
        json={"site_id": hub.site_id, "id": "door-x", "name": "Dobbel"},
        headers=operator,
    )
    assert answer.status_code == 409 and answer.json()["error"]["field"] == "id"


def test_operator__site_patch_and_new_events_key__old_token_stops(hub: HubWorld) -> None:
    operator = _operator(hub)
    patched = hub.http.patch(
        f"/hub/v1/operator/sites/{hub.site_id}", json={"pin_length": 8}, headers=operator
    )
    assert patched.status_code == 200 and patched.json()["pin_length"] == 8
    with hub.ctx.database.transaction() as session:
        site = session.get(Site, hub.site_id)
        assert site is not None and site.pin_length == 8
    renewed = hub.http.post(f"/hub/v1/operator/sites/{hub.site_id}/events-key", headers=operator)
    assert renewed.status_code == 200
    old = hub.http.post(
        "/hub/v1/controller-events",
        json={"events": []},
        headers={"Authorization": f"Bearer {hub.events_token}"},
    )
    assert old.status_code == 401


def test_operator__client_or_events_key__is_not_an_operator(hub: HubWorld) -> None:
    for key in (hub.key, hub.events_token, "hkbo_0123456789abcdef.secret"):
        answer = hub.http.get(
            "/hub/v1/operator/clients", headers={"Authorization": f"Bearer {key}"}
        )
        assert answer.status_code == 401
    operator = _operator(hub)
    # And the operator's key is no client key.
    assert hub.http.get("/hub/v1/doors", headers=operator).status_code == 401


def test_operator__client_events_need_url_and_token_together(hub: HubWorld) -> None:
    operator = _operator(hub)
    answer = hub.http.patch(
        f"/hub/v1/operator/clients/{hub.client_id}",
        json={"events_url": "http://127.0.0.1:9/api/v1/access-events"},
        headers=operator,
    )
    assert answer.status_code == 422 and answer.json()["error"]["field"] == "events_token"
