"""What a booking costs the database: each row it needs read once (per-statement overhead is
most of a booking's CPU)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from tests.booking.conftest import Booking, reservation_body
from tests.sql import statements as engine_statements


@contextmanager
def statements(booking: Booking) -> Iterator[list[str]]:
    """Yields the list of statements the booking's database runs meanwhile."""
    with engine_statements(booking.ctx.database.engine) as seen:
        yield seen


def _reads_of(seen: list[str], table: str) -> int:
    return sum(1 for s in seen if s.startswith("SELECT") and f"FROM {table} " in f"{s} ")


def test_request__looks_its_token_up_once(booking: Booking) -> None:
    body = reservation_body(booking.resource_id, "2026-05-06T10:00:00Z", "2026-05-06T11:00:00Z")
    with statements(booking) as seen:
        created = booking.client.post("/api/v1/reservations", json=body, headers=booking.headers())
        assert created.status_code == 201, created.text
        read = booking.client.get(
            f"/api/v1/reservations/{created.json()['id']}", headers=booking.headers()
        )
        assert read.status_code == 200, read.text
    # The guard's check of each request; the route takes the principal it found.
    assert _reads_of(seen, "booking_api_tokens") == 2


def test_create_reservation__reads_each_row_once(booking: Booking) -> None:
    first = reservation_body(booking.resource_id, "2026-05-06T10:00:00Z", "2026-05-06T11:00:00Z")
    made = booking.client.post("/api/v1/reservations", json=first, headers=booking.headers())
    assert made.status_code == 201, made.text
    again = reservation_body(booking.resource_id, "2026-05-06T12:00:00Z", "2026-05-06T13:00:00Z")
    with statements(booking) as seen:
        created = booking.client.post("/api/v1/reservations", json=again, headers=booking.headers())
        assert created.status_code == 201, created.text
    # The same customer (found by e-mail), the resource with its venue, and the overlap check.
    assert _reads_of(seen, "booking_customers") == 1
    assert _reads_of(seen, "booking_resources") == 1
    assert sum(1 for s in seen if "booking_venues" in s) == 1
    assert _reads_of(seen, "booking_reservations") == 1
    # Written once: its mark of a grant asked for goes in its INSERT, not an UPDATE after it.
    assert sum(1 for s in seen if s.startswith("INSERT INTO booking_reservations")) == 1
    assert not [s for s in seen if s.startswith("UPDATE booking_reservations")]
