"""The booking system's own emails to its customers, each with the reservation as `.ics`:
request received, approved, denied (with the reason), cancelled, confirmed, changed — through
the outbox folder, and one through a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import logging
import re
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from icalendar import Calendar, Event

import hallkey
from hallkey.booking import email_texts, issue_api_token, issue_operator_key
from hallkey.booking.emails import delivery_id
from hallkey.core.messaging.smtp import SmtpSender
from tests.booking.conftest import Booking, BookingFactory, reservation_body

START, END = "2026-05-04T15:00:00Z", "2026-05-04T17:00:00Z"  # 17:00-19:00 in Oslo
PRICE = {"group": "private", "unit": "hour", "amount_ore": 40_000, "vat_rate": "25"}


def _outbox(booking: Booking) -> Path:
    return booking.ctx.settings.outbox_dir / "booking"


def _book(
    booking: Booking, resource_id: str, start: str = START, end: str = END, **extra: Any
) -> dict[str, Any]:
    made = booking.client.post(
        "/api/v1/reservations",
        json=reservation_body(resource_id, start, end, **extra),
        headers=booking.headers(),
    )
    assert made.status_code == 201, made.text
    data: dict[str, Any] = made.json()
    return data


def _post(booking: Booking, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    answer = booking.client.post(path, json=body, headers=booking.headers())
    assert answer.status_code == 200, answer.text
    data: dict[str, Any] = answer.json()
    return data


def _sent(booking: Booking, reservation: dict[str, Any], kind: str, version: int) -> Any:
    """Runs the due jobs; returns (text, html, calendar event, calendar) of one email."""
    booking.ctx.worker.run_pending()
    base = _outbox(booking) / f"{delivery_id(reservation['id'], kind, version)}-email"
    text = base.with_suffix(".txt").read_text()
    html = base.with_suffix(".html").read_text()
    calendar = Calendar.from_ical(Path(f"{base}.1.reservation.ics").read_bytes())
    events = [c for c in calendar.walk() if isinstance(c, Event)]
    assert len(events) == 1
    return text, html, events[0], calendar


def test_email__request_received__then_approved(booking: Booking) -> None:
    made = _book(booking, booking.approval_resource_id)
    assert made["status"] == "requested"
    text, html, event, calendar = _sent(booking, made, "received", 1)
    assert text.startswith("To: kari@example.no\nSubject: Vi har mottatt søknaden din: Stage")
    assert "mandag 4. mai 2026 17:00\u201319:00" in text  # the venue's local time
    assert "<p>Vi har mottatt" in html
    assert calendar["METHOD"] == "REQUEST"
    assert event["STATUS"] == "TENTATIVE"
    assert str(event["UID"]) == f"{made['ref']}@hallkey.booking"
    assert event["SEQUENCE"] == 1
    assert event.decoded("DTSTART") == datetime(2026, 5, 4, 15, 0, tzinfo=UTC)
    assert event.decoded("DTEND") == datetime(2026, 5, 4, 17, 0, tzinfo=UTC)
    assert str(event["ATTENDEE"]) == "mailto:kari@example.no"

    approved = _post(booking, f"/api/v1/reservations/{made['id']}/approve")
    text, _, event, calendar = _sent(booking, approved, "approved", approved["version"])
    assert "Subject: Godkjent: Stage" in text
    assert calendar["METHOD"] == "REQUEST"
    assert event["STATUS"] == "CONFIRMED"
    assert str(event["UID"]) == f"{made['ref']}@hallkey.booking"  # the same entry, updated
    assert event["SEQUENCE"] == 2


def test_email__denied__tells_the_reason(booking: Booking) -> None:
    made = _book(booking, booking.approval_resource_id, locale="en")
    denied = _post(
        booking,
        f"/api/v1/reservations/{made['id']}/deny",
        {"reason": "The hall is closed for repairs that week."},
    )
    assert denied["status"] == "denied"
    assert denied["decision"]["reason"] == "The hall is closed for repairs that week."
    text, html, event, calendar = _sent(booking, denied, "denied", denied["version"])
    assert "Subject: Declined: Stage" in text
    assert "Reason: The hall is closed for repairs that week." in text
    assert "closed for repairs" in html
    assert calendar["METHOD"] == "CANCEL"
    assert event["STATUS"] == "CANCELLED"
    assert event["SEQUENCE"] == 2


def test_email__deny_without_a_reason__refused_and_nothing_sent(booking: Booking) -> None:
    made = _book(booking, booking.approval_resource_id)
    booking.ctx.worker.run_pending()  # the "received" email
    answer = booking.client.post(
        f"/api/v1/reservations/{made['id']}/deny", headers=booking.headers()
    )
    assert answer.status_code == 422
    with booking.ctx.database.read() as session:
        assert booking.ctx.jobs.pending_count(session, "customer_email") == 0


def test_email__confirmed_at_once__then_moved__then_cancelled(booking: Booking) -> None:
    patch = booking.client.patch(
        f"/api/v1/resources/{booking.resource_id}",
        json={"prices": [PRICE]},
        headers={"Authorization": f"Bearer {_setup_token(booking)}"},
    )
    assert patch.status_code == 200, patch.text
    made = _book(booking, booking.resource_id, locale="en")
    assert made["locale"] == "en"
    text, _, event, calendar = _sent(booking, made, "confirmed", 1)
    assert "Subject: Confirmed: Main hall" in text
    assert "When: Monday 4 May 2026 17:00\u201319:00" in text
    assert "Price: NOK 1,000.00 (incl. VAT 25%: NOK 200.00)" in text
    assert (calendar["METHOD"], event["STATUS"]) == ("REQUEST", "CONFIRMED")

    moved = booking.client.patch(
        f"/api/v1/reservations/{made['id']}",
        json={"end": "2026-05-04T18:00:00Z"},
        headers=booking.headers(),
    ).json()
    text, _, event, _ = _sent(booking, moved, "changed", 2)
    assert "Subject: Changed: Main hall" in text and "17:00\u201320:00" in text
    assert event["SEQUENCE"] == 2
    assert event.decoded("DTEND") == datetime(2026, 5, 4, 18, 0, tzinfo=UTC)

    cancelled = _post(booking, f"/api/v1/reservations/{made['id']}/cancel")
    text, _, event, calendar = _sent(booking, cancelled, "cancelled", 3)
    assert "Subject: Cancelled: Main hall" in text
    assert (calendar["METHOD"], event["STATUS"], event["SEQUENCE"]) == ("CANCEL", "CANCELLED", 3)
    # A second cancel changes nothing and sends nothing.
    _post(booking, f"/api/v1/reservations/{made['id']}/cancel")
    booking.ctx.worker.run_pending()
    assert len(list(_outbox(booking).glob("*.txt"))) == 3


def _setup_token(booking: Booking) -> str:
    with booking.ctx.database.transaction() as session:
        return issue_api_token(
            booking.ctx, session, tenant_id=booking.tenant_id, name="s", scopes=["setup"]
        )


def test_email__refused_booking__sends_nothing(booking: Booking) -> None:
    _book(booking, booking.resource_id)
    taken = booking.client.post(
        "/api/v1/reservations",
        json=reservation_body(booking.resource_id, START, END),
        headers=booking.headers(),
    )
    assert taken.status_code == 409
    booking.ctx.worker.run_pending()
    assert len(list(_outbox(booking).glob("*.txt"))) == 1  # the first booking's only


def test_email__job_run_twice__one_email(booking: Booking) -> None:
    made = _book(booking, booking.resource_id)
    booking.ctx.worker.run_pending()
    with booking.ctx.database.transaction() as session:
        payload = {"reservation_id": made["id"], "kind": "confirmed", "version": 1}
        booking.ctx.jobs.enqueue(session, "customer_email", payload)
    booking.ctx.worker.run_pending()
    assert [p.name for p in _outbox(booking).glob("*.txt")] == [
        f"{delivery_id(made['id'], 'confirmed', 1)}-email.txt"
    ]


def test_email__copies_past_retention__deleted_by_a_later_send(booking: Booking) -> None:
    first = _book(booking, booking.resource_id)
    booking.ctx.worker.run_pending()
    old = f"{delivery_id(first['id'], 'confirmed', 1)}-email.txt"
    assert (_outbox(booking) / old).exists()
    booking.clock.advance(timedelta(days=8))
    _book(booking, booking.resource_id, "2026-05-13T15:00:00Z", "2026-05-13T16:00:00Z")
    booking.ctx.worker.run_pending()
    names = [p.name for p in _outbox(booking).iterdir()]
    assert old not in names
    assert not [name for name in names if name.startswith(first["id"])]  # html, .ics too
    assert len([name for name in names if name.endswith(".txt")]) == 1


def test_email__no_personal_data_in_logs(
    booking: Booking, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    made = _book(booking, booking.approval_resource_id)
    _post(booking, f"/api/v1/reservations/{made['id']}/deny", {"reason": "Secret reason xyz"})
    booking.ctx.worker.run_pending()
    assert len(list(_outbox(booking).glob("*.txt"))) == 2
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for personal in ("Kari", "kari@example.no", "41234567", "Secret reason"):
        assert personal not in logged


# --- through a real SMTP server ---------------------------------------------------------


class _Inbox:
    """An aiosmtpd handler keeping what it receives."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        content = envelope.content
        data = content if isinstance(content, bytes) else str(content).encode()
        self.messages.append((str(envelope.mail_from), list(envelope.rcpt_tos), data))
        return "250 OK"


def _free_port() -> int:
    for port in range(18400, 18500):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 18400-18499")


@pytest.fixture
def smtp_server() -> Iterator[tuple[_Inbox, int]]:
    inbox = _Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def _send_through(booking: Booking, port: int) -> None:
    """Makes the booking send its e-mails through the test's SMTP server."""
    booking.ctx.sender = SmtpSender(
        f"smtp://127.0.0.1:{port}?starttls=false",
        default_sender="fallback@testby.example",
        clock=booking.ctx.clock,
    )


def test_email__through_real_smtp__mime_with_parseable_ics(
    make_booking: BookingFactory, smtp_server: tuple[_Inbox, int]
) -> None:
    inbox, port = smtp_server
    booking = make_booking()
    _send_through(booking, port)
    made = _book(booking, booking.approval_resource_id, locale="en")
    booking.ctx.worker.run_pending()
    assert len(inbox.messages) == 1
    mail_from, rcpt_tos, data = inbox.messages[0]
    assert (mail_from, rcpt_tos) == (booking.ctx.settings.booking_email_from, ["kari@example.no"])
    mail = message_from_bytes(data, policy=policy.default)
    assert isinstance(mail, EmailMessage)
    assert mail["Subject"] == "We have received your request: Stage"
    domain = booking.ctx.settings.booking_email_from.rpartition("@")[2]
    assert mail["Message-ID"] == f"<{delivery_id(made['id'], 'received', 1)}@{domain}>"
    body = mail.get_body(preferencelist=("plain",))
    html = mail.get_body(preferencelist=("html",))
    assert body is not None and "We have received your request to book Stage" in body.get_content()
    assert html is not None and "<table>" in html.get_content()
    attachments = list(mail.iter_attachments())
    assert [a.get_filename() for a in attachments] == ["reservation.ics"]
    assert attachments[0].get_content_type() == "text/calendar"
    assert attachments[0].get_param("method") == "REQUEST"
    payload = attachments[0].get_payload(decode=True)
    assert isinstance(payload, bytes)
    calendar = Calendar.from_ical(payload)
    event = next(c for c in calendar.walk() if isinstance(c, Event))
    assert str(event["UID"]) == f"{made['ref']}@hallkey.booking"
    assert event["STATUS"] == "TENTATIVE"
    assert event.decoded("DTSTART") == datetime(2026, 5, 4, 15, 0, tzinfo=UTC)


def test_email__from_the_tenants_sender_set_by_the_operator__else_the_process_default(
    make_booking: BookingFactory, smtp_server: tuple[_Inbox, int]
) -> None:
    inbox, port = smtp_server
    booking = make_booking()
    _send_through(booking, port)
    with booking.ctx.database.transaction() as session:
        _, key = issue_operator_key(booking.ctx, session, name="test")
    operator = {"Authorization": f"Bearer {key}"}
    tenant = booking.client.get("/api/v1/tenants/testby", headers=operator).json()
    body = {"name": tenant["name"], "hub_url": tenant["hub_url"]}
    for bad in ("nobody", "a@b.example, c@d.example", "a@b.example\nBcc: c@d.example"):
        answer = booking.client.put(
            "/api/v1/tenants/testby", json={**body, "email_from": bad}, headers=operator
        )
        assert answer.status_code == 422, bad
        assert answer.json()["error"]["field"] == "email_from"
    sender = "Testby kommune <booking@testby.example>"
    answer = booking.client.put(
        "/api/v1/tenants/testby", json={**body, "email_from": sender}, headers=operator
    )
    assert answer.status_code == 200 and answer.json()["email_from"] == sender
    # Kept when a later PUT leaves it out (as `hallkey apply` does).
    answer = booking.client.put("/api/v1/tenants/testby", json=body, headers=operator)
    assert answer.json()["email_from"] == sender
    _book(booking, booking.approval_resource_id)
    booking.ctx.worker.run_pending()
    booking.client.put("/api/v1/tenants/testby", json={**body, "email_from": ""}, headers=operator)
    _book(
        booking,
        booking.approval_resource_id,
        start="2026-05-05T15:00:00Z",
        end="2026-05-05T17:00:00Z",
    )
    booking.ctx.worker.run_pending()
    (first_from, _, first), (second_from, _, _) = inbox.messages
    mail = message_from_bytes(first, policy=policy.default)
    assert (mail["From"], first_from) == (sender, "booking@testby.example")
    assert mail["Message-ID"].endswith("@testby.example>")
    ics_part = next(iter(mail.iter_attachments()))
    payload = ics_part.get_payload(decode=True)
    assert isinstance(payload, bytes) and b"mailto:booking@testby.example" in payload
    assert second_from == booking.ctx.settings.booking_email_from


def test_email__smtp_server_down__retried_later(make_booking: BookingFactory) -> None:
    booking = make_booking()
    booking.ctx.sender = SmtpSender(
        f"smtp://127.0.0.1:{_free_port()}?starttls=false",
        default_sender="b@testby.example",
        clock=booking.ctx.clock,
    )
    _book(booking, booking.approval_resource_id)
    booking.ctx.worker.run_pending()
    with booking.ctx.database.read() as session:
        assert booking.ctx.jobs.pending_count(session, "customer_email") == 1


_MONTHS = (
    "januar", "februar", "mars", "april", "juni", "juli", "august", "september", "oktober",
    "desember", "january", "february", "march", "june", "july", "october", "december",
)  # fmt: skip


def test_dates__month_and_weekday_names_by_babel__none_written_in_the_code() -> None:
    # Every date in a message comes from CLDR (babel): no list of names of our own to go stale.
    # (A docstring's example may name a month; a list of them names several.)
    source = Path(hallkey.__file__).parent
    words = re.compile(r"\b(" + "|".join(_MONTHS) + r")\b", re.IGNORECASE)
    written = [
        str(path.relative_to(source))
        for path in sorted(source.rglob("*"))
        if path.suffix in (".py", ".j2", ".html")
        and len({w.lower() for w in words.findall(path.read_text(encoding="utf-8"))}) >= 3
    ]
    assert written == []
    moment = datetime(2026, 9, 1, 12, tzinfo=UTC)
    assert email_texts.day_text(moment, "nb") == "tirsdag 1. september 2026"
    assert email_texts.day_text(moment, "en") == "Tuesday 1 September 2026"
    assert email_texts.day_text(moment, "xx") == "tirsdag 1. september 2026"
    assert [email_texts.weekday_name(d, "nb") for d in (1, 7)] == ["mandag", "søndag"]
    assert email_texts.weekday_name(7, "en") == "Sunday"
