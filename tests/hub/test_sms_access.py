"""SMS access at the hub: the grant, its message, and the gateway's signed webhook."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from hallkey.hub.credentials.sms import door_keyword
from hallkey.hub.models import AuditEntry, Base, Delivery, Grant
from tests.hub.conftest import EMAIL, END, PHONE, SMS_SECRET, START, HubWorld

INSIDE = START + timedelta(minutes=10)
STRANGER = "+4748000001"


def _sms_grant(hub: HubWorld, ref: str = "rsv_one", **overrides: object) -> dict[str, object]:
    grant = hub.grant(ref, credential="sms", deliver_via=["sms"], **overrides)
    hub.run_jobs()
    return grant


def _inbound(
    hub: HubWorld,
    sender: str = PHONE,
    text: str = "Hovedinngang",
    *,
    secret: str | None = SMS_SECRET,
    address: str = "testclient",
) -> httpx.Response:
    raw = json.dumps({"from": sender, "to": "+4759440000", "text": text}).encode()
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        mac = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
        headers["X-Hallkey-Signature"] = f"sha256={mac}"
    response: httpx.Response = hub.http.post("/hub/v1/sms/inbound", content=raw, headers=headers)
    return response


def _pulses(hub: HubWorld, door: str = "door-a") -> list[str | None]:
    return [ref for _, ref in hub.ctx.connectors.memory.door(door).pulses]


def _answers(hub: HubWorld) -> list[str]:
    """Returns the texts of the answers sent so far (the outbox), oldest first."""
    hub.run_jobs()
    return [m for m in hub.messages() if "Gyldig" not in m and "SMS til" not in m]


def test_sms_grant__granted__message_names_the_number_and_the_door_keyword(
    hub: HubWorld,
) -> None:
    grant = _sms_grant(hub)

    assert grant["credential"] == "sms"
    assert grant["code"] is None and grant["url"] is None and grant["mobile_key"] is None
    # Nothing is stored at the door: its job marks it programmed at once.
    assert hub.get("grants/rsv_one").json()["doors"][0]["state"] == "programmed"
    [message] = hub.messages()
    assert "+4759440000" in message and "HOVEDINNGANG" in message
    assert "18:00" in message  # Oslo time


def test_sms_grant__english_two_doors__message_lists_both_keywords(hub: HubWorld) -> None:
    _sms_grant(hub, doors=hub.doors, locale="en")

    [message] = hub.messages()
    assert "text HOVEDINNGANG or SIDEINNGANG to +4759440000" in message


def test_sms_grant__without_a_phone__is_refused_naming_the_field(hub: HubWorld) -> None:
    body = hub.grant_body(credential="sms", recipient={"email": EMAIL}, deliver_via=["email"])

    response = hub.post("GrantAccess", body)

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "recipient.phone"
    assert hub.get("grants/rsv_one").status_code == 404


def test_sms_inbound__valid_now__pulses_the_door_audits_and_answers(hub: HubWorld) -> None:
    _sms_grant(hub)
    hub.clock.set(INSIDE)

    response = _inbound(hub, sender="+47 912 34 567", text="hovedinngang takk")

    assert response.status_code == 200, response.text
    assert response.json() == {"outcome": "opened"}
    assert _pulses(hub) == ["rsv_one"]
    with hub.ctx.database.transaction() as session:
        audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "pulse")).one()
        assert (audit.ref, audit.door_id, audit.outcome) == ("rsv_one", "door-a", "ok")
    assert any("Døren er åpen nå. Velkommen!" in m and PHONE in m for m in _answers(hub))


def test_sms_inbound__only_door__opens_whatever_the_text(hub: HubWorld) -> None:
    _sms_grant(hub, locale="en")
    hub.clock.set(INSIDE)

    assert _inbound(hub, text="open please").json() == {"outcome": "opened"}
    assert _pulses(hub) == ["rsv_one"]
    assert any("The door is open now" in m for m in _answers(hub))


def test_sms_inbound__two_doors__keyword_picks_the_door_and_none_asks_which(
    hub: HubWorld,
) -> None:
    _sms_grant(hub, doors=hub.doors)
    hub.clock.set(INSIDE)

    assert _inbound(hub, text="Sideinngang").json() == {"outcome": "opened"}
    assert _inbound(hub, text="hei").json() == {"outcome": "which_door"}

    assert _pulses(hub, "door-b") == ["rsv_one"] and _pulses(hub, "door-a") == []
    assert any("Hvilken dør?" in m for m in _answers(hub))


def test_sms_inbound__before_the_window__opens_nothing_and_says_not_valid(
    hub: HubWorld,
) -> None:
    _sms_grant(hub)

    assert _inbound(hub).json() == {"outcome": "not_valid"}

    assert _pulses(hub) == []
    assert any("gjelder ikke nå" in m for m in _answers(hub))


def test_sms_inbound__after_revocation__opens_nothing(hub: HubWorld) -> None:
    _sms_grant(hub)
    hub.clock.set(INSIDE)
    assert hub.post("RevokeAccess", {"ref": "rsv_one"}).status_code == 200
    hub.run_jobs()

    assert _inbound(hub).json() == {"outcome": "not_valid"}
    assert _pulses(hub) == []


def test_sms_inbound__unknown_number__polite_refusal_in_norwegian(hub: HubWorld) -> None:
    _sms_grant(hub, locale="en")
    hub.clock.set(INSIDE)

    assert _inbound(hub, sender=STRANGER).json() == {"outcome": "unknown"}

    assert _pulses(hub) == []
    hub.run_jobs()
    with hub.ctx.database.transaction() as session:
        answer = session.scalars(select(Delivery).where(Delivery.grant_id.is_(None))).one()
        assert (answer.state, answer.template) == ("sent", "sms_unknown")
    assert any("finner ingen tilgang" in m and STRANGER in m for m in hub.messages())


@pytest.mark.parametrize("secret", [None, "wrong-secret"])
def test_sms_inbound__unsigned_or_wrongly_signed__401_and_nothing_happens(
    hub: HubWorld, secret: str | None
) -> None:
    _sms_grant(hub)
    hub.clock.set(INSIDE)
    before = len(hub.messages())

    response = _inbound(hub, secret=secret)

    assert response.status_code == 401
    assert _pulses(hub) == []
    hub.run_jobs()
    assert len(hub.messages()) == before
    with hub.ctx.database.transaction() as session:
        assert session.scalars(select(Delivery).where(Delivery.grant_id.is_(None))).all() == []


def test_sms_inbound__signed_body_altered__401(hub: HubWorld) -> None:
    _sms_grant(hub)
    hub.clock.set(INSIDE)
    raw = json.dumps({"from": PHONE, "to": "+4759440000", "text": "x"}).encode()
    mac = hmac.new(SMS_SECRET.encode(), raw, hashlib.sha256).hexdigest()

    response = hub.http.post(
        "/hub/v1/sms/inbound",
        content=raw.replace(b'"x"', b'"y"'),
        headers={"Content-Type": "application/json", "X-Hallkey-Signature": f"sha256={mac}"},
    )

    assert response.status_code == 401
    assert _pulses(hub) == []


def test_sms_inbound__malformed_body__422_naming_the_field(hub: HubWorld) -> None:
    raw = json.dumps({"to": "+4759440000", "text": "x"}).encode()
    mac = hmac.new(SMS_SECRET.encode(), raw, hashlib.sha256).hexdigest()

    response = hub.http.post(
        "/hub/v1/sms/inbound",
        content=raw,
        headers={"Content-Type": "application/json", "X-Hallkey-Signature": f"sha256={mac}"},
    )

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "from"


def test_sms_inbound__many_texts_from_one_number__throttled_without_answers(
    hub: HubWorld,
) -> None:
    _sms_grant(hub)
    statuses = [_inbound(hub, sender=STRANGER).status_code for _ in range(8)]

    assert statuses[:6] == [200] * 6 and statuses[6:] == [429, 429]
    hub.run_jobs()
    with hub.ctx.database.transaction() as session:
        answers = session.scalars(select(Delivery).where(Delivery.grant_id.is_(None))).all()
    assert len(answers) == 6


def test_sms_inbound__many_requests_from_one_address__throttled(hub: HubWorld) -> None:
    statuses = {_inbound(hub, secret="wrong").status_code for _ in range(121)}

    assert statuses == {401, 429}


def test_sms_privacy__phone_not_stored_or_logged_and_the_hash_is_keyed(
    hub: HubWorld, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    _sms_grant(hub)
    hub.clock.set(INSIDE)
    _inbound(hub)
    _inbound(hub, sender=STRANGER)
    hub.run_jobs()

    with hub.ctx.database.transaction() as session:
        digest = session.scalars(select(Grant.phone_digest)).one()
        text = "\n".join(
            " ".join(str(v) for v in row)
            for table in Base.metadata.sorted_tables
            for row in session.execute(select(table)).all()
        )
    assert digest is not None
    # Not a plain hash of the number: without the hub's key it cannot be checked by guessing.
    for form in (PHONE, PHONE.removeprefix("+"), PHONE.removeprefix("+47")):
        assert digest not in (hashlib.sha256(form.encode()).hexdigest(),)
    for secret in (PHONE, PHONE.removeprefix("+47"), STRANGER, STRANGER.removeprefix("+47")):
        assert secret not in text
        assert secret not in caplog.text
    assert "inbound sms: opened" in caplog.text


def test_sms_retention__phone_hash_and_answers_purged_after_retention(hub: HubWorld) -> None:
    _sms_grant(hub)
    hub.clock.set(INSIDE)
    _inbound(hub)
    hub.run_jobs()

    hub.clock.set(END + timedelta(days=7, hours=1))
    hub.run_jobs()

    with hub.ctx.database.transaction() as session:
        grant = session.scalars(select(Grant)).one()
        assert (grant.phone_digest, grant.recipient_phone_sealed) == (None, None)
        assert session.scalars(select(Delivery).where(Delivery.grant_id.is_(None))).all() == []
    hub.clock.set(END + timedelta(days=8))
    assert _inbound(hub).json() == {"outcome": "unknown"}


def test_door_keyword__from_the_door_name__first_word_in_capitals() -> None:
    assert door_keyword("Hovedinngang") == "HOVEDINNGANG"
    assert door_keyword("Gym-sal 2, bakdør") == "GYM"
    assert door_keyword("Øvre inngang") == "OVRE"


def test_sms_grant__phone_changed__only_the_new_number_opens(hub: HubWorld) -> None:
    _sms_grant(hub)
    hub.clock.set(INSIDE)

    response = hub.post("UpdateAccess", {"ref": "rsv_one", "recipient": {"phone": STRANGER}})

    assert response.status_code == 200, response.text
    assert _inbound(hub).json() == {"outcome": "unknown"}
    assert _inbound(hub, sender=STRANGER).json() == {"outcome": "opened"}
    assert _pulses(hub) == ["rsv_one"]


def test_sms_grant__phone_removed__is_refused_and_changes_nothing(hub: HubWorld) -> None:
    _sms_grant(hub)
    hub.clock.set(INSIDE)

    response = hub.post("UpdateAccess", {"ref": "rsv_one", "recipient": {"email": EMAIL}})

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "recipient.phone"
    assert _inbound(hub).json() == {"outcome": "opened"}
