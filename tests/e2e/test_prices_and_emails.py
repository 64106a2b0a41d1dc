"""A customer of the demo municipality, through HTTP on a running server: asks what the hall
costs, books it (the price is stored), gets the confirmation by email with a calendar entry,
cancels, and gets the cancellation that removes the entry. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from icalendar import Calendar, Event

from tests.conftest import DatabaseUrlFactory
from tests.e2e.harness import Deployment, deployment
from tests.servers import wait_for

NOW = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)
CUSTOMER = {"name": "Kari Nordmann", "phone": "+47 912 34 567", "email": "kari@example.org"}


@pytest.fixture
def running(database_url: DatabaseUrlFactory, tmp_path: Path) -> Iterator[Deployment]:
    with deployment("combined", database_url, tmp_path / "var", NOW) as deployed:
        yield deployed


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _event(path: Path) -> tuple[Calendar, Event]:
    calendar = Calendar.from_ical(path.read_bytes())
    return calendar, next(c for c in calendar.walk() if isinstance(c, Event))


def test_customer__quote_book_email_cancel(running: Deployment) -> None:
    d = running
    hall = d.demo["resources"][0]["id"]
    start, end = NOW + timedelta(hours=1), NOW + timedelta(hours=2, minutes=30)
    frame = {"start": iso(start), "end": iso(end)}

    quoted = httpx.get(
        f"{d.urls.booking}/api/v1/resources/{hall}/price", params={**frame, "group": "business"}
    )
    assert quoted.status_code == 200, quoted.text
    # The demo's business price: 500 kr an hour + 25 % VAT, for 90 minutes.
    assert quoted.json() == {
        "group": "business",
        "unit": "hour",
        "net_ore": 75_000,
        "vat_ore": 18_750,
        "gross_ore": 93_750,
        "currency": "NOK",
        "vat_rate": "25",
    }

    with d.booking() as api:
        made = api.post(
            "/api/v1/reservations",
            json={
                "resource_id": hall,
                **frame,
                "customer": CUSTOMER,
                "price_group": "business",
                "locale": "en",
            },
        )
        assert made.status_code == 201, made.text
        booked = made.json()
        assert booked["price"] == quoted.json()

        outbox = d.settings.outbox_dir / "booking"
        confirmation = outbox / f"{booked['id']}_confirmed_v1-email.txt"
        wait_for(confirmation.exists, timeout=15)
        text = confirmation.read_text()
        assert "Subject: Confirmed: Gymsal (døgnåpen)" in text
        assert "Price: NOK 937.50 (incl. VAT 25%: NOK 187.50)" in text
        calendar, event = _event(outbox / f"{booked['id']}_confirmed_v1-email.1.reservation.ics")
        assert (calendar["METHOD"], event["STATUS"]) == ("REQUEST", "CONFIRMED")
        assert event.decoded("DTSTART") == start

        cancelled = api.post(f"/api/v1/reservations/{booked['id']}/cancel")
        assert cancelled.status_code == 200
    version = cancelled.json()["version"]
    notice = outbox / f"{booked['id']}_cancelled_v{version}-email.1.reservation.ics"
    wait_for(notice.exists, timeout=15)
    calendar, event = _event(notice)
    assert (calendar["METHOD"], event["STATUS"]) == ("CANCEL", "CANCELLED")
    assert str(event["UID"]) == f"{booked['ref']}@hallkey.booking"
    assert event["SEQUENCE"] == version
