"""A client's API key is looked up once per request (by the guard), and a revoked key is
refused on every kind of route, also where no guard runs."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from hallkey.core.errors import install_error_handlers
from hallkey.hub import build_part
from hallkey.hub.models import Grant
from tests.hub.conftest import HubWorld
from tests.hub.test_operator import _operator
from tests.sql import statements


def _second_key_then_revoke_first(hub: HubWorld) -> str:
    """Gives our client a second key, revokes its first (`hub.key`); returns the new key."""
    operator = _operator(hub)
    base = f"/hub/v1/operator/clients/{hub.client_id}/keys"
    added = hub.http.post(base, json={"name": "second"}, headers=operator)
    assert added.status_code == 201, added.text
    first = next(k for k in hub.http.get(base, headers=operator).json() if k["name"] != "second")
    assert hub.http.post(f"{base}/{first['id']}/revoke", headers=operator).status_code == 200
    return str(added.json()["api_key"])


def _grants(hub: HubWorld) -> list[str]:
    with hub.ctx.database.read() as session:
        return list(session.scalars(select(Grant.ref)))


def test_request__looks_its_client_key_up_once(hub: HubWorld) -> None:
    with statements(hub.ctx.database.engine) as seen:
        hub.grant("rsv_once")
        assert hub.get("grants/rsv_once").status_code == 200
        body = {"url": "http://93.184.216.34/hook"}
        assert hub.http.put("/hub/v1/webhook", json=body, headers=hub.headers()).status_code == 200
    lookups = [s for s in seen if "hub_client_keys.key_id = " in s]
    # The guard's check only: the routes take the client it found (they looked twice before).
    assert len(lookups) == 3


def test_revoked_key__refused_on_reads_writes_and_the_webhook__the_new_key_works(
    hub: HubWorld,
) -> None:
    new = _second_key_then_revoke_first(hub)
    old = hub.key
    hook = {"url": "http://93.184.216.34/hook"}

    assert hub.post("GrantAccess", hub.grant_body("rsv_old"), key=old).status_code == 401
    assert hub.get("doors", key=old).status_code == 401
    assert hub.http.put("/hub/v1/webhook", json=hook, headers=hub.headers(old)).status_code == 401
    assert hub.http.get("/hub/v1/webhook", headers=hub.headers(old)).status_code == 401
    assert hub.http.delete("/hub/v1/webhook", headers=hub.headers(old)).status_code == 401
    assert _grants(hub) == []

    assert hub.post("GrantAccess", hub.grant_body("rsv_new"), key=new).status_code == 201
    assert hub.http.put("/hub/v1/webhook", json=hook, headers=hub.headers(new)).status_code == 200
    assert hub.http.get("/hub/v1/webhook", headers=hub.headers(new)).json()["state"] == "active"
    assert _grants(hub) == ["rsv_new"]


def test_without_the_guard__routes_look_the_key_up_themselves(hub: HubWorld) -> None:
    app = FastAPI()
    install_error_handlers(app)
    for router in build_part(hub.ctx).routers:
        app.include_router(router)
    new = _second_key_then_revoke_first(hub)
    with TestClient(app) as bare:
        refused = bare.post(
            "/hub/v1/GrantAccess", json=hub.grant_body("rsv_old"), headers=hub.headers()
        )
        granted = bare.post(
            "/hub/v1/GrantAccess", json=hub.grant_body("rsv_new"), headers=hub.headers(new)
        )
        hook = bare.put(
            "/hub/v1/webhook", json={"url": "http://93.184.216.34/hook"}, headers=hub.headers(new)
        )
        other = bare.get("/hub/v1/grants/rsv_new", headers=hub.headers(hub.other_key))

    assert refused.status_code == 401
    assert granted.status_code == 201, granted.text
    assert hook.status_code == 200, hook.text
    assert other.status_code == 404  # another client's key sees none of ours
    assert _grants(hub) == ["rsv_new"]
