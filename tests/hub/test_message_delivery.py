"""Real delivery: a PIN by SMS through a gateway and by email through an SMTP server, each a
real server on loopback; an SMS failing for good going by email; retries; reminders at their
offset; operator alerts."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hallkey.core.clock import ensure_utc
from hallkey.core.jobs import JobRun, Worker
from hallkey.core.messaging import OutgoingMessage
from hallkey.hub import issue_operator_key, tasks
from hallkey.hub.delivery import reminders
from hallkey.hub.models import Delivery
from tests.conftest import DatabaseUrlFactory
from tests.hub.conftest import EMAIL, END, PHONE, START, T0, HubWorld, iso, make_settings, open_hub
from tests.messaging_servers import (
    GATEWAY_TOKEN,
    REFUSED_NUMBER,
    TWILIO_SID,
    TWILIO_TOKEN,
    HttpSmsServer,
    SmtpTestServer,
    sms_server,
    smtp_server,
)
from tests.servers import wait_for

OPERATOR = "drift@fjellby.example"


class Wired:
    """A hub whose messages go through a real SMTP server and a real SMS server."""

    def __init__(self, hub: HubWorld, smtp: SmtpTestServer, sms: HttpSmsServer) -> None:
        self.hub, self.smtp, self.sms = hub, smtp, sms


def _wire(
    kind: str, database_url: DatabaseUrlFactory, tmp_path: Path, **overrides: Any
) -> Iterator[Wired]:
    with smtp_server(tmp_path) as smtp, sms_server(kind) as sms:
        gateway: dict[str, Any] = (
            {"sms_url": f"{sms.base_url}/sms", "sms_token": GATEWAY_TOKEN}
            if kind == "generic"
            else {
                "sms_provider": "twilio",
                "sms_url": sms.base_url,
                "sms_token": TWILIO_TOKEN,
                "twilio_account_sid": TWILIO_SID,
            }
        )
        settings = make_settings(
            tmp_path,
            database_url("hub", migrated=True),
            smtp_url=smtp.url,
            smtp_ca_file=smtp.ca_file,
            smtp_from="Fjellby kommune <booking@fjellby.example>",
            operator_email=OPERATOR,
            **gateway,
            **overrides,
        )
        with open_hub(settings) as hub:
            yield Wired(hub, smtp, sms)


@pytest.fixture(params=["generic", "twilio"])
def wired(
    request: pytest.FixtureRequest, database_url: DatabaseUrlFactory, tmp_path: Path
) -> Iterator[Wired]:
    """A hub wired to SMTP and to the generic gateway, then to Twilio."""
    yield from _wire(str(request.param), database_url, tmp_path)


def _deliveries(hub: HubWorld) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = hub.get("grants/rsv_one").json()["deliveries"]
    return result


def test_pin__by_sms_through_the_gateway_and_by_email_through_smtp(wired: Wired) -> None:
    grant = wired.hub.grant(deliver_via=["sms", "email"])
    wired.hub.run_jobs()
    (sms,) = wired.sms.received()
    assert sms.to == PHONE
    assert grant["code_formatted"] in sms.text
    assert "1. desember 18:00-19:00" in sms.text
    (email,) = wired.smtp.received()
    assert email.to == EMAIL
    assert grant["code_formatted"] in email.text
    assert email.email is not None
    assert email.email["Subject"] == "Din kode til Sentrum kulturhus"
    assert email.email["Auto-Submitted"] == "auto-generated"
    html = email.email.get_body(("html",))
    assert html is not None and grant["code_formatted"] in html.get_content()
    states = {(d["channel"], d["state"], d["error"], d["attempts"]) for d in _deliveries(wired.hub)}
    assert states == {("sms", "sent", None, 1), ("email", "sent", None, 1)}
    assert wired.hub.message_files() == []  # nothing went to the local outbox


def test_sms_failing_for_good__goes_by_email_with_the_providers_reason(wired: Wired) -> None:
    grant = wired.hub.grant(
        recipient={"phone": REFUSED_NUMBER, "email": EMAIL}, deliver_via=["sms"]
    )
    wired.hub.run_jobs()
    assert wired.sms.received() == []
    (email,) = wired.smtp.received()
    assert grant["code_formatted"] in email.text
    deliveries = [(d["channel"], d["state"], d["error"]) for d in _deliveries(wired.hub)]
    assert deliveries[0][:2] == ("sms", "failed")
    assert deliveries[0][2] in {"gateway_400", "twilio_21211"}  # the provider's own code
    assert deliveries[1] == ("email", "sent", None)


def test_sms_gateway_down__queued_with_its_reason__sent_once_it_is_back(wired: Wired) -> None:
    wired.sms.state["down"] = True
    grant = wired.hub.grant(deliver_via=["sms"])
    wired.hub.run_jobs()
    (queued,) = _deliveries(wired.hub)
    assert (queued["state"], queued["attempts"]) == ("queued", 1)
    assert queued["error"] in {"gateway_503", "twilio_20500"}
    wired.sms.state["down"] = False
    wired.hub.clock.advance(timedelta(minutes=10))
    wired.hub.run_jobs()
    (sent,) = _deliveries(wired.hub)
    assert (sent["state"], sent["error"], sent["attempts"]) == ("sent", None, 2)
    (sms,) = wired.sms.received()
    assert grant["code_formatted"] in sms.text


def test_sms_gateway_down__the_email_of_the_same_job_goes__only_the_sms_is_retried(
    wired: Wired,
) -> None:
    wired.sms.state["down"] = True
    grant = wired.hub.grant(deliver_via=["sms", "email"])
    table = wired.hub.ctx.jobs.table
    with wired.hub.ctx.database.read() as session:
        payloads = list(session.scalars(select(table.c.payload).where(table.c.kind == "deliver")))
    assert [len(p["delivery_ids"]) for p in payloads] == [2]  # one job for both channels

    wired.hub.run_jobs()
    states = {d["channel"]: (d["state"], d["attempts"]) for d in _deliveries(wired.hub)}
    assert states == {"sms": ("queued", 1), "email": ("sent", 1)}
    wired.sms.state["down"] = False
    wired.hub.clock.advance(timedelta(minutes=10))
    wired.hub.run_jobs()

    states = {d["channel"]: (d["state"], d["attempts"]) for d in _deliveries(wired.hub)}
    assert states == {"sms": ("sent", 2), "email": ("sent", 1)}
    (email,) = wired.smtp.received()  # not sent again with the SMS's retry
    (sms,) = wired.sms.received()
    assert grant["code_formatted"] in sms.text and grant["code_formatted"] in email.text


def test_sms_gateway_down_for_good__fails_after_the_last_try__then_email(
    database_url: DatabaseUrlFactory, tmp_path: Path
) -> None:
    for wired in _wire("generic", database_url, tmp_path):
        wired.sms.state["down"] = True
        wired.hub.grant(deliver_via=["sms"])
        for _ in range(12):
            wired.hub.run_jobs()
            wired.hub.clock.advance(timedelta(minutes=10))
        deliveries = [(d["channel"], d["state"], d["error"]) for d in _deliveries(wired.hub)]
        assert deliveries == [("sms", "failed", "gateway_503"), ("email", "sent", None)]
        assert len(wired.smtp.received()) == 1


def test_email__from_the_clients_sender_set_by_the_operator__else_the_hubs(
    database_url: DatabaseUrlFactory, tmp_path: Path
) -> None:
    for wired in _wire("generic", database_url, tmp_path):
        hub = wired.hub
        with hub.ctx.database.transaction() as session:
            _, key = issue_operator_key(hub.ctx, session, name="test")
        client = f"/hub/v1/operator/clients/{hub.client_id}"
        operator = {"Authorization": f"Bearer {key}"}
        for bad in ("not an address", "a@b.example, c@d.example", "x@y.example\r\nBcc: e@f.g"):
            answer = hub.http.patch(client, json={"email_from": bad}, headers=operator)
            assert answer.status_code == 422, bad
            assert answer.json()["error"]["field"] == "email_from"
        sender = "Nyby kommune <booking@nyby.example>"
        answer = hub.http.patch(client, json={"email_from": sender}, headers=operator)
        assert answer.status_code == 200 and answer.json()["email_from"] == sender
        hub.grant(deliver_via=["email"])
        hub.run_jobs()
        answer = hub.http.patch(client, json={"email_from": ""}, headers=operator)
        assert answer.json()["email_from"] is None
        hub.grant("rsv_two", deliver_via=["email"])
        hub.run_jobs()
        first, second = wired.smtp.received()
        assert first.email is not None and second.email is not None
        assert (first.email["From"], first.sender) == (sender, "booking@nyby.example")
        assert first.email["Message-ID"].endswith("@nyby.example>")
        assert second.email["From"] == "Fjellby kommune <booking@fjellby.example>"


def test_programming_failed_for_good__the_operator_gets_an_email(
    database_url: DatabaseUrlFactory, tmp_path: Path
) -> None:
    for wired in _wire("generic", database_url, tmp_path):
        hub = wired.hub
        hub.ctx.connectors.memory.set_online("door-a", False)
        hub.grant(deliver_via=[])
        for _ in range(6):
            hub.run_jobs()
            hub.clock.advance(timedelta(minutes=10))
        alerts = {str(m.email["Subject"]): m for m in wired.smtp.received() if m.email}
        assert set(alerts) == {
            # The reconciler saw the door go, and the programming then failed for good.
            "Dør frakoblet: Hovedinngang (Sentrum kulturhus)",
            "Programmering feilet: Hovedinngang (Sentrum kulturhus)",
        }
        failed = alerts["Programmering feilet: Hovedinngang (Sentrum kulturhus)"]
        assert {m.to for m in alerts.values()} == {OPERATOR}
        assert "rsv_one" in failed.text and "door_offline" in failed.text
        for alert in alerts.values():
            assert PHONE not in alert.text and EMAIL not in alert.text


# --- reminders (the outbox) -------------------------------------------------------------


def _reminders(hub: HubWorld) -> list[str]:
    return [m for m in hub.messages() if "Påminnelse" in m]


def test_reminder__sent_at_its_offset_before_the_start(hub: HubWorld) -> None:
    grant = hub.grant(deliver_via=["sms", "email"])
    hub.run_jobs()
    assert len(hub.messages()) == 2
    offset = timedelta(minutes=hub.ctx.settings.reminder_minutes)
    hub.clock.set(START - offset - timedelta(seconds=1))
    hub.run_jobs()
    assert _reminders(hub) == []
    hub.clock.set(START - offset)
    hub.run_jobs()
    reminders = _reminders(hub)
    assert len(reminders) == 2
    assert all(grant["code_formatted"] in text for text in reminders)
    shown = [d for d in _deliveries(hub) if d["template"] == "access_reminder"]
    assert {(d["channel"], d["state"], d["window_at"]) for d in shown} == {
        ("sms", "sent", iso(START)),
        ("email", "sent", iso(START)),
    }
    hub.clock.set(START)
    hub.run_jobs()
    assert len(_reminders(hub)) == 2  # once


def test_reminder__not_sent_after_a_cancellation(hub: HubWorld) -> None:
    hub.grant(deliver_via=["sms"])
    hub.run_jobs()
    assert hub.post("RevokeAccess", {"ref": "rsv_one"}).status_code == 200
    hub.run_jobs()
    hub.clock.set(START - timedelta(minutes=5))
    hub.run_jobs()
    assert _reminders(hub) == []
    assert all(d["template"] != "access_reminder" for d in _deliveries(hub))


def _sent_reminders(hub: HubWorld) -> list[str]:
    """Returns the window starts of the reminders sent (the outbox is purged after a week)."""
    return [
        d["window_at"]
        for d in _deliveries(hub)
        if d["template"] == "access_reminder" and d["state"] == "sent"
    ]


def test_reminder__one_per_window_of_a_series__a_moved_window_at_its_new_time(
    hub: HubWorld,
) -> None:
    week = timedelta(days=7)
    windows = [
        {"valid_from": iso(START + n * week), "valid_to": iso(END + n * week)} for n in (0, 1)
    ]
    body = hub.grant_body(deliver_via=["sms"], windows=windows)
    del body["valid_from"], body["valid_to"]
    assert hub.post("GrantAccess", body).status_code == 201
    hub.run_jobs()
    offset = timedelta(minutes=hub.ctx.settings.reminder_minutes)
    hub.clock.set(START - offset)
    hub.run_jobs()
    assert _sent_reminders(hub) == [iso(START)]
    # The second window moves a day later: its reminder follows it.
    moved = [
        windows[0],
        {
            "valid_from": iso(START + week + timedelta(days=1)),
            "valid_to": iso(END + week + timedelta(days=1)),
        },
    ]
    response = hub.post("UpdateAccess", {"ref": "rsv_one", "windows": moved})
    assert response.status_code == 200, response.text
    hub.run_jobs()
    hub.clock.set(START + week - offset)
    hub.run_jobs()
    assert _sent_reminders(hub) == [iso(START)]
    hub.clock.set(START + week + timedelta(days=1) - offset)
    hub.run_jobs()
    assert _sent_reminders(hub) == [iso(START), iso(START + week + timedelta(days=1))]


def test_reminder__none_when_the_start_is_nearer_than_the_offset(hub: HubWorld) -> None:
    hub.clock.set(START - timedelta(minutes=30))
    hub.grant(deliver_via=["sms"])
    hub.run_jobs()
    hub.clock.set(START)
    hub.run_jobs()
    assert _reminders(hub) == []
    assert T0 < START


class _SlowCounting:
    """A sender without idempotency whose send takes until released; counts its sends."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.started, self.release = threading.Event(), threading.Event()

    def send(self, message: OutgoingMessage) -> None:
        self.sent.append(message.delivery_id)
        self.started.set()
        assert self.release.wait(10)

    def purge_older_than(self, cutoff: datetime) -> int:
        return 0


def test_send_slower_than_the_lease__never_sent_twice(hub: HubWorld) -> None:
    slow = _SlowCounting()
    hub.ctx.sender = slow
    hub.grant(deliver_via=["sms"])
    lease = hub.ctx.settings.job_lease_seconds
    live = Worker(
        name="live",
        queue=hub.ctx.jobs,
        handlers=tasks.handlers(hub.ctx),
        lease_seconds=lease,
        heartbeat_seconds=0.01,
    )
    running = threading.Thread(target=live.run_pending)
    running.start()
    try:
        assert slow.started.wait(10)
        hub.clock.advance(timedelta(seconds=lease * 3))  # far past the lease it claimed...
        table = hub.ctx.jobs.table

        def renewed() -> bool:  # ... which its heartbeat renews
            with hub.ctx.database.read() as session:
                run_at = session.scalar(select(table.c.run_at).where(table.c.kind == "deliver"))
            return run_at is not None and ensure_utc(run_at) > hub.clock.now()

        wait_for(renewed)
        other = Worker(
            name="other", queue=hub.ctx.jobs, handlers=tasks.handlers(hub.ctx), lease_seconds=lease
        )
        other.run_pending()
    finally:
        slow.release.set()
        running.join(15)
    assert len(slow.sent) == 1
    assert [d["state"] for d in _deliveries(hub)] == ["sent"]


def test_reminder_job_run_twice__one_reminder(hub: HubWorld) -> None:
    hub.grant(deliver_via=["sms", "email"])
    hub.run_jobs()
    hub.clock.set(START - timedelta(minutes=hub.ctx.settings.reminder_minutes))
    grant_id = hub.get("grants/rsv_one").json()["deliveries"][0]["id"]  # any id: look it up
    with hub.ctx.database.read() as session:
        grant_id = session.scalar(select(Delivery.grant_id).where(Delivery.id == grant_id))
    job = JobRun("job_x", reminders.REMIND_JOB, {"grant_id": grant_id, "window_at": iso(START)}, 1)
    reminders.remind(hub.ctx, job)  # a crash before the job was marked done ...
    reminders.remind(hub.ctx, job)  # ... and its run again
    shown = [d for d in _deliveries(hub) if d["template"] == "access_reminder"]
    assert sorted(d["channel"] for d in shown) == ["email", "sms"]
