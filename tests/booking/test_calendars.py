"""Calendar feeds, parsed back with `icalendar`: a resource's public taken time, and a
customer's secret feed of their own bookings (made by staff or by the customer, rotated)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from icalendar import Calendar

from tests.booking.conftest import Booking, reservation_body
from tests.booking.test_customer_sign_in import sign_in

OLA = {"name": "Ola Hansen", "phone": "412 34 568", "email": "ola@example.no"}


def _book(booking: Booking, start: str, end: str, **extra: Any) -> Any:
    body = reservation_body(booking.resource_id, start, end, **extra)
    made = booking.client.post("/api/v1/reservations", json=body, headers=booking.headers())
    assert made.status_code == 201, made.text
    return made.json()


def _events(response: httpx.Response) -> list[Any]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.content)
    return list(calendar.walk("VEVENT"))


def _public(booking: Booking, **params: str) -> httpx.Response:
    response: httpx.Response = booking.client.get(
        f"/api/v1/resources/{booking.resource_id}/calendar.ics",
        params={"tenant": "testby", **params},
    )
    return response


def test_resource_calendar__busy_time_without_people__stable_uids_and_sequence(
    booking: Booking,
) -> None:
    kept = _book(booking, "2026-05-05T10:00:00Z", "2026-05-05T12:00:00Z")
    cancelled = _book(booking, "2026-05-06T10:00:00Z", "2026-05-06T11:00:00Z")
    assert (
        booking.client.post(
            f"/api/v1/reservations/{cancelled['id']}/cancel", headers=booking.headers()
        ).status_code
        == 200
    )
    first = _public(booking)
    events = _events(first)
    assert [str(e["summary"]) for e in events] == ["Opptatt", "Opptatt"]
    assert [str(e["status"]) for e in events] == ["CONFIRMED", "CANCELLED"]
    assert events[0].decoded("dtstart") == datetime(2026, 5, 5, 10, tzinfo=UTC)
    assert events[0].decoded("dtend") == datetime(2026, 5, 5, 12, tzinfo=UTC)
    assert int(events[1]["sequence"]) == 2  # booked (1), cancelled (2)
    text = first.text
    for private in ("Kari", "kari@example.no", kept["ref"], kept["id"], cancelled["ref"]):
        assert private not in text
    # The same state, the same bytes; ETag answers 304.
    again = _public(booking)
    assert again.content == first.content
    etag = first.headers["etag"]
    assert "last-modified" in first.headers
    cached = booking.client.get(
        f"/api/v1/resources/{booking.resource_id}/calendar.ics?tenant=testby",
        headers={"If-None-Match": etag},
    )
    assert cached.status_code == 304
    # A move keeps the UID and raises SEQUENCE (a calendar replaces the event).
    moved = booking.client.patch(
        f"/api/v1/reservations/{kept['id']}",
        json={"start": "2026-05-05T13:00:00Z", "end": "2026-05-05T15:00:00Z"},
        headers=booking.headers(),
    )
    assert moved.status_code == 200, moved.text
    after = _events(_public(booking, lang="en"))
    assert str(after[0]["uid"]) == str(events[0]["uid"])
    assert int(after[0]["sequence"]) == int(events[0]["sequence"]) + 1
    assert after[0].decoded("dtstart") == datetime(2026, 5, 5, 13, tzinfo=UTC)
    assert str(after[0]["summary"]) == "Busy"
    changed = booking.client.get(
        f"/api/v1/resources/{booking.resource_id}/calendar.ics?tenant=testby",
        headers={"If-None-Match": etag},
    )
    assert changed.status_code == 200


def test_resource_calendar__tenant_by_host__another_tenants_resource_is_404(
    booking: Booking,
) -> None:
    _book(booking, "2026-05-05T10:00:00Z", "2026-05-05T11:00:00Z")
    by_host = booking.client.get(
        f"/api/v1/resources/{booking.resource_id}/calendar.ics",
        headers={"Host": "booking.testby.example"},
    )
    assert len(_events(by_host)) == 1
    other = booking.client.get(
        f"/api/v1/resources/{booking.other_resource_id}/calendar.ics",
        headers={"Host": "booking.testby.example"},
    )
    assert other.status_code == 404
    assert other.json()["error"]["field"] == "resource_id"


def test_resource_calendar__window__a_month_back_a_year_ahead(booking: Booking) -> None:
    _book(booking, "2026-05-05T10:00:00Z", "2026-05-05T11:00:00Z")
    assert len(_events(_public(booking))) == 1
    booking.clock.advance(timedelta(days=40))
    assert _events(_public(booking)) == []


def _feed_path(url: str) -> str:
    assert url.startswith("https://booking.testby.example/api/v1/calendar/"), url
    return url.removeprefix("https://booking.testby.example")


def test_customer_feed__made_by_staff__lists_only_their_bookings_and_rotates(
    booking: Booking,
) -> None:
    mine = _book(booking, "2026-05-05T10:00:00Z", "2026-05-05T12:00:00Z")
    _book(booking, "2026-05-05T13:00:00Z", "2026-05-05T14:00:00Z", customer=OLA)
    customer_id = mine["customer"]["id"]
    made = booking.client.post(
        f"/api/v1/customers/{customer_id}/calendar-feed", headers=booking.headers()
    )
    assert made.status_code == 201, made.text
    path = _feed_path(made.json()["url"])
    events = _events(booking.client.get(path))
    assert len(events) == 1
    assert str(events[0]["summary"]) == "Main hall"
    assert str(events[0]["status"]) == "CONFIRMED"
    assert mine["ref"] in str(events[0]["description"])
    assert "Ola" not in booking.client.get(path).text
    # The token is stored only as its hash: the database never holds it.
    token = path.removeprefix("/api/v1/calendar/").removesuffix(".ics")
    with booking.ctx.database.transaction() as session:
        from hallkey.booking.calendar_models import CalendarFeed

        stored = session.query(CalendarFeed).one()
        assert token not in (stored.token_hash, stored.id)
    # A new one replaces it: the old URL is gone.
    again = booking.client.post(
        f"/api/v1/customers/{customer_id}/calendar-feed", headers=booking.headers()
    )
    assert again.status_code == 201
    assert booking.client.get(path).status_code == 404
    assert len(_events(booking.client.get(_feed_path(again.json()["url"])))) == 1
    # Another tenant's staff cannot make one for this customer.
    foreign = booking.client.post(
        f"/api/v1/customers/{customer_id}/calendar-feed",
        headers=booking.headers(booking.other_token),
    )
    assert foreign.status_code == 404


def test_customer_feed__made_by_the_signed_in_customer__and_ends_when_erased(
    booking: Booking,
) -> None:
    mine = _book(booking, "2026-05-05T10:00:00Z", "2026-05-05T12:00:00Z")
    sign_in(booking)
    made = booking.client.post("/api/v1/me/calendar-feed")
    assert made.status_code == 201, made.text
    booking.client.cookies.clear()
    assert booking.client.post("/api/v1/me/calendar-feed").status_code == 401
    path = _feed_path(made.json()["url"])
    assert len(_events(booking.client.get(path))) == 1
    cancel = booking.client.post(
        f"/api/v1/reservations/{mine['id']}/cancel", headers=booking.headers()
    )
    assert cancel.status_code == 200
    booking.clock.advance(timedelta(days=2))  # past its end: the customer may be erased
    assert [str(e["status"]) for e in _events(booking.client.get(path))] == ["CANCELLED"]
    erased = booking.client.post(
        f"/api/v1/customers/{mine['customer']['id']}/erase", headers=booking.headers()
    )
    assert erased.status_code == 200, erased.text
    assert booking.client.get(path).status_code == 404


def test_customer_feed__unknown_tokens__throttled_per_address(booking: Booking) -> None:
    for i in range(20):
        guess = booking.client.get(f"/api/v1/calendar/guess{i:04d}.ics")
        assert guess.status_code == 404
    refused = booking.client.get("/api/v1/calendar/guess9999.ics")
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 0
    booking.clock.advance(timedelta(minutes=16))
    assert booking.client.get("/api/v1/calendar/guess9999.ics").status_code == 404
