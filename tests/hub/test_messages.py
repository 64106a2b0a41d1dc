"""Deliveries land as files in the outbox, in the recipient's language, rendered at send time."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from hallkey.core.clock import ManualClock
from hallkey.hub.delivery import OutboxFolderSender, OutgoingMessage
from tests.hub.conftest import EMAIL, PHONE, HubWorld


def _by_channel(hub: HubWorld) -> dict[str, str]:
    return {
        p.name.rsplit("-", 1)[1].removesuffix(".txt"): p.read_text() for p in hub.message_files()
    }


def test_messages__norwegian_by_default_with_code_place_doors_and_time(hub: HubWorld) -> None:
    grant = hub.grant(doors=["door-a", "door-b"])
    hub.run_jobs()
    files = hub.message_files()
    assert len(files) == 2
    ids = {d["id"] for d in grant["deliveries"]}
    for path in files:
        assert re.fullmatch(r"\d{8}T\d{12}Z-dlv_[0-9a-z]+-(sms|email)\.txt", path.name)
        assert path.name.split("-")[1] in ids
    messages = _by_channel(hub)
    sms, email = messages["sms"], messages["email"]
    assert sms.startswith(f"To: {PHONE}\n\n")
    assert email.startswith(f"To: {EMAIL}\nSubject: Din kode til Sentrum kulturhus\n\n")
    for text in (sms, email):
        assert grant["code_formatted"] in text
        assert "Hovedinngang og Sideinngang" in text
        assert "Sentrum kulturhus" in text
        assert "1. desember 18:00\u201319:00" in text
        assert "{" not in text


def test_messages__in_english_with_locale_en(hub: HubWorld) -> None:
    grant = hub.grant(locale="en", deliver_via=["email"])
    hub.run_jobs()
    (email,) = hub.messages()
    assert "Subject: Your code for Sentrum kulturhus" in email
    assert "1 December 18:00\u201319:00" in email
    assert grant["code_formatted"] in email


def test_messages__channel_without_address__is_422_on_that_address(hub: HubWorld) -> None:
    body = hub.grant_body(recipient={"phone": PHONE}, deliver_via=["sms", "email"])
    response = hub.post("GrantAccess", body)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "recipient.email"
    assert hub.get("grants/rsv_one").status_code == 404
    hub.run_jobs()
    assert hub.message_files() == []


def test_messages__revoked_before_they_went_out__only_the_revocation_is_sent(
    hub: HubWorld,
) -> None:
    code = hub.grant(deliver_via=["sms"])["code"]
    assert hub.post("RevokeAccess", {"ref": "rsv_one"}).status_code == 200
    hub.run_jobs()
    deliveries = hub.get("grants/rsv_one").json()["deliveries"]
    assert [(d["template"], d["state"]) for d in deliveries] == [
        ("access_granted", "failed"),
        ("access_revoked", "sent"),
    ]
    assert all(code not in text for text in hub.messages())


def test_messages__revocation_tells_the_code_no_longer_works(hub: HubWorld) -> None:
    grant = hub.grant(deliver_via=["sms"])
    hub.run_jobs()
    hub.post("RevokeAccess", {"ref": "rsv_one"})
    hub.run_jobs()
    revoked = hub.messages()[-1]
    assert "trukket tilbake" in revoked
    assert grant["code"] not in revoked


def test_outbox_sender__writes_atomically_one_file_per_message(tmp_path: Path) -> None:
    clock = ManualClock(datetime(2026, 12, 1, 17, 0, 5, 123456, tzinfo=UTC))
    sender = OutboxFolderSender(tmp_path / "outbox", clock)
    sender.send(OutgoingMessage("dlv_1", "email", "a@example.org", "Hei", "Tekst\n"))
    sender.send(OutgoingMessage("dlv_2", "sms", "+4791234567", None, "Kort"))
    names = sorted(p.name for p in (tmp_path / "outbox").iterdir())
    assert names == [
        "20261201T170005123456Z-dlv_1-email.txt",
        "20261201T170005123456Z-dlv_2-sms.txt",
    ]
    content = (tmp_path / "outbox" / names[0]).read_text()
    assert content == "To: a@example.org\nSubject: Hei\n\nTekst\n"
