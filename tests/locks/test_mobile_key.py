"""The controller's mobile-key reader: offline checks of signature, door, window, revocation."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.locks.conftest import T0, Locks, window, z

START = T0 + timedelta(hours=1)
END = T0 + timedelta(hours=2)


class HubKey:
    """An Ed25519 key standing in for the hub's signing key."""

    def __init__(self, kid: str) -> None:
        self.kid = kid
        self.private = Ed25519PrivateKey.generate()

    @property
    def jwk(self) -> dict[str, str]:
        raw = self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
        return {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": self.kid, "alg": "EdDSA"}

    def token(
        self,
        ref: str = "rsv_one",
        doors: list[str] | None = None,
        windows: list[tuple[datetime, datetime]] | None = None,
        **extra: Any,
    ) -> str:
        frames = windows or [(START, END)]
        claims: dict[str, Any] = {
            "iss": "http://hub",
            "sub": ref,
            "doors": doors if doors is not None else ["door-main"],
            "windows": [[z(a), z(b)] for a, b in frames],
            "nbf": int(frames[0][0].timestamp()),
            "exp": int(frames[-1][1].timestamp()),
            "iat": int(T0.timestamp()),
            "jti": "mk_1",
        }
        claims.update(extra)
        return jwt.encode(claims, self.private, algorithm="EdDSA", headers={"kid": self.kid})


def _program(
    locks: Locks,
    key: HubKey,
    ref: str = "rsv_one",
    frames: list[dict[str, str]] | None = None,
    hub_door: str | None = None,
) -> None:
    body: dict[str, Any] = {
        "type": "mobile_key",
        "keys": [key.jwk],
        "windows": frames or [window(START, END)],
    }
    if hub_door is not None:
        body["hub_door"] = hub_door
    response = locks.client.put(
        f"/locks/v1/doors/{locks.door}/credentials/{ref}", json=body, headers=locks.auth
    )
    assert response.status_code == 200, response.text


def _present(locks: Locks, token: str, door: str | None = None) -> dict[str, Any]:
    response = locks.client.post(
        f"/locks/v1/doors/{door or locks.door}/mobile-key",
        json={"token": token},
        headers=locks.auth,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_mobile_key__in_its_window__opens_the_door_and_records_the_ref(locks: Locks) -> None:
    key = HubKey("mkk_1")
    _program(locks, key)
    locks.clock.set(START + timedelta(minutes=1))

    answer = _present(locks, key.token())

    assert answer == {"granted": True, "ref": "rsv_one"}
    assert locks.door_state()["locked"] is False
    assert [(e["kind"], e["ref"]) for e in locks.events()] == [("access_granted", "rsv_one")]


def test_mobile_key__before_or_after_its_window__outside_window(locks: Locks) -> None:
    key = HubKey("mkk_1")
    _program(locks, key)

    early = _present(locks, key.token())
    locks.clock.set(END)
    late = _present(locks, key.token())

    assert early == {"granted": False, "reason": "outside_window"}
    assert late == {"granted": False, "reason": "outside_window"}
    assert locks.door_state()["locked"] is True


def test_mobile_key__for_another_door__wrong_door(locks: Locks) -> None:
    key = HubKey("mkk_1")
    _program(locks, key)
    locks.clock.set(START)

    assert _present(locks, key.token(doors=["door-side"])) == {
        "granted": False,
        "reason": "wrong_door",
    }


def test_mobile_key__door_told_its_hub_id__opens_by_that_id_and_no_longer_by_its_own(
    locks: Locks,
) -> None:
    key = HubKey("mkk_1")
    _program(locks, key, hub_door="hub-west")  # the hub's id for the controller's door-main
    locks.clock.set(START)

    by_hub_id = _present(locks, key.token(doors=["hub-west"]))
    by_own_id = _present(locks, key.token(doors=["door-main"]))

    assert by_hub_id == {"granted": True, "ref": "rsv_one"}
    # door-main may well be another door's id at the hub: once the door knows its hub id,
    # a key naming the controller's own id is for some other door.
    assert by_own_id == {"granted": False, "reason": "wrong_door"}


def test_mobile_key__hub_id_learned_from_another_ref__a_ref_never_programmed_here_opens(
    locks: Locks,
) -> None:
    key = HubKey("mkk_1")
    _program(locks, key, ref="rsv_other", hub_door="hub-west")
    locks.clock.set(START)

    # Offline as before: signature, door (by the learned hub id) and window are enough.
    assert _present(locks, key.token(doors=["hub-east", "hub-west"])) == {
        "granted": True,
        "ref": "rsv_one",
    }
    assert _present(locks, key.token(doors=["hub-east"])) == {
        "granted": False,
        "reason": "wrong_door",
    }


def test_mobile_key__revoked_at_the_controller__revoked(locks: Locks) -> None:
    key = HubKey("mkk_1")
    _program(locks, key)
    locks.clock.set(START)
    deleted = locks.client.delete(
        f"/locks/v1/doors/{locks.door}/credentials/rsv_one?version=1", headers=locks.auth
    )
    assert deleted.status_code == 200

    assert _present(locks, key.token()) == {"granted": False, "reason": "revoked"}
    assert locks.door_state()["locked"] is True


def test_mobile_key__forged_unknown_key_or_garbage__invalid_key(locks: Locks) -> None:
    key = HubKey("mkk_1")
    _program(locks, key)
    locks.clock.set(START)
    forger = HubKey("mkk_1")  # the same key id, another private key
    stranger = HubKey("mkk_2")  # a key id the controller never received
    tampered = key.token().split(".")
    tampered[1] = forger.token(doors=["door-main", "door-side"]).split(".")[1]

    answers = [
        _present(locks, token)
        for token in (
            forger.token(),
            stranger.token(),
            ".".join(tampered),
            "not-a-token",
            key.token(windows=[(END, START)]),
        )
    ]

    assert answers == [{"granted": False, "reason": "invalid_key"}] * 5
    assert locks.door_state()["locked"] is True
    assert {e["reason"] for e in locks.events()} == {"invalid_key"}


def test_mobile_key__grant_moved_since_signing__only_the_new_token_opens(locks: Locks) -> None:
    key = HubKey("mkk_1")
    later = (START + timedelta(minutes=30), END + timedelta(minutes=30))
    _program(locks, key, frames=[window(*later)])
    locks.clock.set(START + timedelta(minutes=45))

    old = _present(locks, key.token())
    new = _present(locks, key.token(windows=[later]))

    assert old == {"granted": False, "reason": "outside_window"}
    assert new == {"granted": True, "ref": "rsv_one"}


def test_mobile_key__a_ref_never_programmed_here__verified_by_signature_and_window(
    locks: Locks,
) -> None:
    key = HubKey("mkk_1")
    _program(locks, key, ref="rsv_other")  # brings the key; rsv_one was never sent here
    locks.clock.set(START)

    assert _present(locks, key.token()) == {"granted": True, "ref": "rsv_one"}


def test_mobile_key_credential__with_a_code_or_without_keys__is_422(locks: Locks) -> None:
    key = HubKey("mkk_1")
    url = f"/locks/v1/doors/{locks.door}/credentials/rsv_one"
    frames = [window(START, END)]

    with_code = locks.client.put(
        url,
        json={"type": "mobile_key", "code": "482915", "keys": [key.jwk], "windows": frames},
        headers=locks.auth,
    )
    no_keys = locks.client.put(
        url, json={"type": "mobile_key", "windows": frames}, headers=locks.auth
    )
    pin_without_code = locks.client.put(
        url, json={"type": "pin", "windows": frames}, headers=locks.auth
    )

    assert (with_code.status_code, with_code.json()["error"]["field"]) == (422, "code")
    assert (no_keys.status_code, no_keys.json()["error"]["field"]) == (422, "keys")
    assert (pin_without_code.status_code, pin_without_code.json()["error"]["field"]) == (
        422,
        "code",
    )
