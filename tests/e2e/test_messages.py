"""Messages end to end: a booking's PIN reaches the guest by SMS through a gateway and by email
through an SMTP server, each a real server on loopback, with the contexts talking over HTTP."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import DatabaseUrlFactory
from tests.e2e.harness import deployment
from tests.e2e.test_keys import NOW, _book, _granted, _use_credential
from tests.messaging_servers import GATEWAY_TOKEN, sms_server, smtp_server
from tests.servers import wait_for


def test_pin__booking_to_sms_through_the_gateway_and_email_through_smtp(
    database_url: DatabaseUrlFactory, tmp_path: Path
) -> None:
    with (
        smtp_server(tmp_path) as smtp,
        sms_server("generic") as gateway,
        deployment(
            "split",
            database_url,
            tmp_path / "var",
            NOW,
            smtp_url=smtp.url,
            smtp_ca_file=smtp.ca_file,
            sms_url=f"{gateway.base_url}/sms",
            sms_token=GATEWAY_TOKEN,
        ) as d,
    ):
        resource_id = _use_credential(d, "pin")
        created = _book(d, resource_id)
        access = _granted(d, created)
        code = str(access["code"])
        # Two emails reach the server: the hub's with the code, and the booking system's own
        # confirmation with the reservation as an .ics.
        wait_for(lambda: len(gateway.received()) == 1 and len(smtp.received()) == 2, timeout=30)
        (sms,) = gateway.received()
        (email,) = [e for e in smtp.received() if code in e.text]
        (confirmation,) = [e for e in smtp.received() if e is not email]
        assert confirmation.to == "kari@example.org" and code not in confirmation.text
        assert confirmation.email is not None
        assert [a.get_filename() for a in confirmation.email.iter_attachments()] == [
            "reservation.ics"
        ]
        assert sms.to == "+4791234567"
        assert code in sms.text
        assert email.to == "kari@example.org"
        assert code in email.text
        assert email.email is not None and email.email.get_body(("html",)) is not None
        outbox = d.settings.outbox_dir
        assert not (outbox.exists() and any(outbox.rglob("*.txt")))
