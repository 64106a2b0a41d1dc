"""Mobile keys at the hub: the signed token, the JWKS, rotation, and what the door gets."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import jwt
import pytest
from sqlalchemy import select

from hallkey.hub import rotate_signing_key
from hallkey.hub.models import SigningKey
from tests.hub.conftest import EMAIL, END, PHONE, START, HubWorld, iso


def _mobile_key(hub: HubWorld, ref: str = "rsv_one", **overrides: Any) -> str:
    grant = hub.grant(ref, credential="mobile_key", deliver_via=[], **overrides)
    assert grant["code"] is None and grant["url"] is None
    hub.run_jobs()
    return str(grant["mobile_key"])


def _jwks(hub: HubWorld) -> dict[str, Any]:
    response = hub.http.get("/hub/v1/keys")  # public: no key
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def _verify(hub: HubWorld, token: str) -> dict[str, Any]:
    """Verifies a token as any JWT library would, with the hub's published JWKS."""
    keys = jwt.PyJWKSet.from_dict(_jwks(hub))
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(k for k in keys.keys if k.key_id == kid)
    claims: dict[str, Any] = jwt.decode(
        token,
        key,
        algorithms=["EdDSA"],
        options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
    )
    return claims


def test_mobile_key__granted__a_jwt_with_the_design_claims_verified_by_the_jwks(
    hub: HubWorld,
) -> None:
    token = _mobile_key(hub, doors=["door-a", "door-b"])

    header = jwt.get_unverified_header(token)
    claims = _verify(hub, token)

    assert header["alg"] == "EdDSA" and header["kid"]
    assert claims["iss"] == hub.ctx.settings.base_url
    assert claims["sub"] == "rsv_one"
    assert claims["doors"] == ["door-a", "door-b"]
    assert claims["windows"] == [[iso(START), iso(END)]]
    assert (claims["nbf"], claims["exp"]) == (int(START.timestamp()), int(END.timestamp()))
    assert set(claims) == {"iss", "sub", "doors", "windows", "nbf", "exp", "iat", "jti"}
    assert hub.get("grants/rsv_one").json()["mobile_key"] == token


def test_mobile_key__token__holds_nothing_personal(hub: HubWorld) -> None:
    token = _mobile_key(hub)

    decoded = json.dumps(
        [jwt.get_unverified_header(token), jwt.decode(token, options={"verify_signature": False})]
    )

    for personal in (PHONE, PHONE[3:], EMAIL, "guest"):
        assert personal not in decoded


def test_mobile_key__programmed__the_door_gets_windows_and_public_keys_but_no_code(
    hub: HubWorld,
) -> None:
    _mobile_key(hub)

    held = hub.ctx.connectors.memory.credential("door-a", "rsv_one")

    assert held is not None and not held.revoked
    assert held.code is None
    assert hub.get("grants/rsv_one").json()["doors"][0]["state"] == "programmed"


def test_mobile_key__revoked__the_door_holds_the_revocation(hub: HubWorld) -> None:
    _mobile_key(hub)

    assert hub.post("RevokeAccess", {"ref": "rsv_one"}).status_code == 200
    hub.run_jobs()

    held = hub.ctx.connectors.memory.credential("door-a", "rsv_one")
    assert held is not None and held.revoked
    assert hub.get("grants/rsv_one").json()["mobile_key"] is not None


def test_mobile_key__moved__a_new_token_names_the_new_window(hub: HubWorld) -> None:
    old = _mobile_key(hub)
    later = START + timedelta(minutes=30)

    response = hub.post(
        "UpdateAccess", {"ref": "rsv_one", "valid_from": iso(later), "valid_to": iso(END)}
    )

    assert response.status_code == 200, response.text
    new = response.json()["mobile_key"]
    assert new != old
    assert _verify(hub, new)["windows"] == [[iso(later), iso(END)]]


def test_signing_keys__rotated__old_key_published_until_its_last_token_expires(
    hub: HubWorld,
) -> None:
    old_token = _mobile_key(hub)
    old_kid = jwt.get_unverified_header(old_token)["kid"]

    with hub.ctx.database.transaction() as session:
        new_kid = rotate_signing_key(hub.ctx, session)
    new_token = _mobile_key(hub, "rsv_two")

    assert jwt.get_unverified_header(new_token)["kid"] == new_kid != old_kid
    assert {k["kid"] for k in _jwks(hub)["keys"]} == {old_kid, new_kid}
    assert _verify(hub, old_token)["sub"] == "rsv_one"
    hub.clock.set(END + timedelta(seconds=1))
    assert {k["kid"] for k in _jwks(hub)["keys"]} == {new_kid}


def test_signing_keys__private_keys__sealed_at_rest(hub: HubWorld) -> None:
    _mobile_key(hub)

    with hub.ctx.database.transaction() as session:
        key = session.scalars(select(SigningKey)).one()
        sealed, jwk = key.private_sealed, dict(key.public_jwk)

    assert set(jwk) == {"kty", "crv", "x", "kid", "alg", "use"}
    assert "d" not in jwk
    opened = hub.ctx.box.open(sealed)
    assert opened not in sealed


@pytest.mark.parametrize("credential", ["mobile_key", "url_key"])
def test_key_credentials__granted_again_after_revocation__the_old_key_is_replaced(
    hub: HubWorld, credential: str
) -> None:
    first = hub.grant(credential=credential, deliver_via=[], revision=1)
    hub.post("RevokeAccess", {"ref": "rsv_one", "revision": 2})

    again = hub.post(
        "GrantAccess", hub.grant_body(credential=credential, deliver_via=[], revision=3)
    )

    field = "mobile_key" if credential == "mobile_key" else "url"
    assert again.status_code == 201, again.text
    assert again.json()[field] and again.json()[field] != first[field]
