"""Deliveries land as files in the outbox, in the recipient's language, rendered at send time."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hallkey.core.clock import ManualClock
from hallkey.hub.delivery import MessageSender, OutboxFolderSender, OutgoingMessage, SendError
from tests.hub.conftest import EMAIL, END, PHONE, START, HubWorld, iso


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
        assert re.fullmatch(r"dlv_[0-9a-z]+-(sms|email)\.txt", path.name)
        assert path.name.split("-")[0] in ids
    messages = _by_channel(hub)
    sms, email = messages["sms"], messages["email"]
    assert sms.startswith(f"To: {PHONE}\n\n")
    assert email.startswith(f"To: {EMAIL}\nSubject: Din kode til Sentrum kulturhus\n\n")
    for text in (sms, email):
        assert grant["code_formatted"] in text
        assert "Hovedinngang og Sideinngang" in text
        assert "Sentrum kulturhus" in text
        assert "{" not in text
    # The email as typeset; the text in GSM-7 (an en dash would make it UCS-2, 70 a segment).
    assert "1. desember 18:00\u201319:00" in email
    assert "1. desember 18:00-19:00" in sms


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


def test_messages__revoked_before_the_code_went_out__no_message_at_all(
    hub: HubWorld,
) -> None:
    hub.grant(deliver_via=["sms", "email"])
    assert hub.post("RevokeAccess", {"ref": "rsv_one"}).status_code == 200
    hub.run_jobs()
    hub.clock.advance(timedelta(minutes=10))  # whatever waited for a retry has run too
    hub.run_jobs()
    deliveries = hub.get("grants/rsv_one").json()["deliveries"]
    assert sorted((d["template"], d["channel"], d["state"]) for d in deliveries) == [
        ("access_granted", "email", "failed"),
        ("access_granted", "sms", "failed"),
        ("access_revoked", "email", "failed"),
        ("access_revoked", "sms", "failed"),
    ]
    assert hub.message_files() == []


class _RefusesSms:
    """A sender whose SMS gateway refuses every message for good; email goes out."""

    def __init__(self, sender: MessageSender) -> None:
        self.sender = sender

    def send(self, message: OutgoingMessage) -> None:
        if message.channel == "sms":
            raise SendError("number refused by the gateway", retryable=False)
        self.sender.send(message)

    def purge_older_than(self, cutoff: datetime) -> int:
        return self.sender.purge_older_than(cutoff)


def test_messages__code_never_reached_the_phone__revocation_goes_by_email_only(
    hub: HubWorld,
) -> None:
    real = hub.ctx.sender
    hub.ctx.sender = _RefusesSms(real)
    hub.grant(deliver_via=["sms", "email"])
    hub.run_jobs()
    hub.ctx.sender = real  # the gateway would take the revocation: it must not get one
    hub.post("RevokeAccess", {"ref": "rsv_one"})
    hub.run_jobs()
    channels = [p.name.rsplit("-", 1)[1] for p in hub.message_files()]
    assert sorted(channels) == ["email.txt", "email.txt"]  # the code, then its revocation


def test_messages__revocation_tells_the_code_no_longer_works(hub: HubWorld) -> None:
    grant = hub.grant(deliver_via=["sms"])
    hub.run_jobs()
    hub.post("RevokeAccess", {"ref": "rsv_one"})
    hub.run_jobs()
    revoked = hub.messages()[-1]
    assert "trukket tilbake" in revoked
    assert grant["code"] not in revoked


def test_outbox_sender__writes_one_file_per_message_named_by_delivery_id(
    tmp_path: Path,
) -> None:
    sent_at = datetime(2026, 12, 1, 17, 0, 5, 123456, tzinfo=UTC)
    sender = OutboxFolderSender(tmp_path / "outbox", ManualClock(sent_at))
    sender.send(OutgoingMessage("dlv_1", "email", "a@example.org", "Hei", "Tekst\n"))
    sender.send(OutgoingMessage("dlv_2", "sms", "+4791234567", None, "Kort"))
    names = sorted(p.name for p in (tmp_path / "outbox").iterdir())
    assert names == ["dlv_1-email.txt", "dlv_2-sms.txt"]
    path = tmp_path / "outbox" / names[0]
    assert path.read_text() == "To: a@example.org\nSubject: Hei\n\nTekst\n"
    assert path.stat().st_mtime == pytest.approx(sent_at.timestamp())
    assert path.stat().st_mode & 0o777 == 0o600


def test_outbox_sender__same_delivery_id_twice__one_message(tmp_path: Path) -> None:
    clock = ManualClock(datetime(2026, 12, 1, 17, 0, tzinfo=UTC))
    sender = OutboxFolderSender(tmp_path / "outbox", clock)
    sender.send(OutgoingMessage("dlv_1", "sms", "+4791234567", None, "Koden er 482915#"))
    clock.advance(timedelta(minutes=5))
    sender.send(OutgoingMessage("dlv_1", "sms", "+4791234567", None, "Koden er 482915#"))
    assert [p.name for p in (tmp_path / "outbox").iterdir()] == ["dlv_1-sms.txt"]


class _Killed(BaseException):
    """The process dies (kill -9): nothing after this point runs, no handler sees it."""


class _DiesAfterSending:
    """A sender that hands the message over, then the process dies before it is marked sent."""

    def __init__(self, sender: MessageSender) -> None:
        self.sender = sender

    def send(self, message: OutgoingMessage) -> None:
        self.sender.send(message)
        raise _Killed

    def purge_older_than(self, cutoff: datetime) -> int:
        return self.sender.purge_older_than(cutoff)


def test_deliver__killed_between_sending_and_marking_sent__the_retry_sends_nothing_twice(
    hub: HubWorld,
) -> None:
    hub.grant(deliver_via=["sms"])
    real = hub.ctx.sender
    hub.ctx.sender = _DiesAfterSending(real)
    with pytest.raises(_Killed):
        hub.run_jobs()
    hub.ctx.sender = real  # a new process; the dead one's lease runs out
    assert [d["state"] for d in hub.get("grants/rsv_one").json()["deliveries"]] == ["queued"]
    hub.clock.advance(timedelta(seconds=hub.ctx.settings.job_lease_seconds + 1))
    hub.run_jobs()
    assert [d["state"] for d in hub.get("grants/rsv_one").json()["deliveries"]] == ["sent"]
    assert len(hub.message_files()) == 1


def test_messages__granted_again_before_the_first_code_went_out__the_new_code_once(
    hub: HubWorld,
) -> None:
    hub.grant(revision=1, deliver_via=["sms"])
    assert hub.post("RevokeAccess", {"ref": "rsv_one", "revision": 2}).status_code == 200
    again = hub.post("GrantAccess", hub.grant_body(revision=3, deliver_via=["sms"]))
    assert again.status_code == 201, again.text
    hub.run_jobs()
    hub.clock.advance(timedelta(minutes=10))  # whatever waited for a retry has run too
    hub.run_jobs()

    messages = hub.messages()
    assert len(messages) == 1
    assert again.json()["code"] in messages[0]
    states = [(d["template"], d["state"]) for d in hub.get("grants/rsv_one").json()["deliveries"]]
    assert states == [
        ("access_granted", "failed"),
        ("access_revoked", "failed"),
        ("access_granted", "sent"),
    ]


def test_messages__granted_again_and_revoked_before_the_new_code_went_out__no_second_revocation(
    hub: HubWorld,
) -> None:
    hub.grant(revision=1, deliver_via=["sms"])
    hub.run_jobs()
    hub.post("RevokeAccess", {"ref": "rsv_one", "revision": 2})
    hub.run_jobs()  # the first code, then its revocation: two messages
    again = hub.post("GrantAccess", hub.grant_body(revision=3, deliver_via=["sms"]))
    assert again.status_code == 201
    assert hub.post("RevokeAccess", {"ref": "rsv_one", "revision": 4}).status_code == 200
    hub.run_jobs()
    hub.clock.advance(timedelta(minutes=10))
    hub.run_jobs()

    # Nobody is told that the new code, which they never got, stops working.
    assert len(hub.messages()) == 2
    states = [(d["template"], d["state"]) for d in hub.get("grants/rsv_one").json()["deliveries"]]
    assert states[2:] == [("access_granted", "failed"), ("access_revoked", "failed")]


def test_messages__granted_again_and_revoked_after_the_new_code_went_out__revocation_told(
    hub: HubWorld,
) -> None:
    hub.grant(revision=1, deliver_via=["sms"])
    hub.post("RevokeAccess", {"ref": "rsv_one", "revision": 2})
    hub.post("GrantAccess", hub.grant_body(revision=3, deliver_via=["sms"]))
    hub.run_jobs()  # the new code only
    hub.post("RevokeAccess", {"ref": "rsv_one", "revision": 4})
    hub.run_jobs()

    messages = hub.messages()
    assert len(messages) == 2
    assert sum("trukket tilbake" in message for message in messages) == 1


def test_messages__moved_before_the_first_code_went_out__one_message_with_the_new_time(
    hub: HubWorld,
) -> None:
    hub.grant(deliver_via=["sms"])
    later = {"ref": "rsv_one", "valid_from": iso(START + timedelta(hours=2))}
    later["valid_to"] = iso(END + timedelta(hours=2))
    assert hub.post("UpdateAccess", later).status_code == 200
    hub.run_jobs()

    messages = hub.messages()
    assert len(messages) == 1  # the queued one is drawn up now, with the moved window
    assert "20:00" in messages[0]  # 18:00 Oslo moved two hours on
    # Once that message has gone out, a further move is told in a message of its own.
    back = {"ref": "rsv_one", "valid_from": iso(START), "valid_to": iso(END)}
    assert hub.post("UpdateAccess", back).status_code == 200
    hub.run_jobs()
    assert len(hub.messages()) == 2
