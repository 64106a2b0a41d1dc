"""A resource's booking rules (shortest, longest, how far ahead) and bounded time ranges."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from hallkey.booking import create_resource
from hallkey.booking.models import Reservation, Resource
from tests.booking.conftest import Booking, reservation_body


def book(booking: Booking, start: str, end: str, resource_id: str | None = None) -> httpx.Response:
    body = reservation_body(resource_id or booking.resource_id, start, end)
    response: httpx.Response = booking.client.post(
        "/api/v1/reservations", json=body, headers=booking.headers()
    )
    return response


def assert_refused(response: httpx.Response, field: str) -> None:
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        pytest.param("2026-05-04T10:00:00Z", "2026-05-05T10:01:00Z", "end", id="over_24h"),
        pytest.param("2026-05-04T10:00:00Z", "2036-05-04T10:00:00Z", "end", id="ten_years"),
        pytest.param("2026-05-04T10:00:00Z", "9999-12-31T23:00:00Z", "end", id="year_9999"),
        pytest.param("2026-05-04T10:00:00Z", "2026-05-04T10:14:00Z", "end", id="under_15_min"),
        pytest.param("2027-05-05T10:00:00Z", "2027-05-05T11:00:00Z", "start", id="past_horizon"),
        pytest.param("9999-12-30T10:00:00Z", "9999-12-30T11:00:00Z", "start", id="start_9999"),
    ],
)
def test_rules__reservation_beyond_the_resources_limits__is_422_and_stores_nothing(
    booking: Booking, start: str, end: str, field: str
) -> None:
    for resource_id in (booking.resource_id, booking.hours_resource_id):
        assert_refused(book(booking, start, end, resource_id), field)
    assert booking.count(Reservation) == 0


def test_rules__at_the_limits__are_accepted(booking: Booking) -> None:
    assert book(booking, "2026-05-04T10:00:00Z", "2026-05-05T10:00:00Z").status_code == 201
    assert book(booking, "2027-05-04T05:00:00Z", "2027-05-04T05:15:00Z").status_code == 201


def test_rules__move_beyond_the_limits__is_422_and_changes_nothing(booking: Booking) -> None:
    created = book(booking, "2026-05-04T10:00:00Z", "2026-05-04T12:00:00Z").json()
    url = f"/api/v1/reservations/{created['id']}"
    moves: list[tuple[dict[str, Any], str]] = [
        ({"end": "2036-05-04T10:00:00Z"}, "end"),
        ({"end": "9999-12-31T23:00:00Z"}, "end"),
        ({"end": "2026-05-04T10:05:00Z"}, "end"),
        ({"start": "2028-01-01T10:00:00Z", "end": "2028-01-01T11:00:00Z"}, "start"),
    ]
    for body, field in moves:
        assert_refused(booking.client.patch(url, json=body, headers=booking.headers()), field)
    got = booking.client.get(url, headers=booking.headers()).json()
    assert (got["start"], got["end"], got["version"]) == (created["start"], created["end"], 1)


def test_rules__set_on_the_resource__are_what_the_api_enforces(booking: Booking) -> None:
    with booking.ctx.database.transaction() as session:
        main = session.get(Resource, booking.resource_id)
        assert main is not None
        short = create_resource(
            booking.ctx,
            session,
            venue_id=main.venue_id,
            name="Squash court",
            door_ids=[],
            min_booking_minutes=30,
            max_booking_minutes=120,
            horizon_days=14,
        )
    assert_refused(book(booking, "2026-05-04T10:00:00Z", "2026-05-04T12:30:00Z", short), "end")
    assert_refused(book(booking, "2026-05-04T10:00:00Z", "2026-05-04T10:20:00Z", short), "end")
    assert_refused(book(booking, "2026-05-19T10:00:00Z", "2026-05-19T11:00:00Z", short), "start")
    assert book(booking, "2026-05-17T10:00:00Z", "2026-05-17T12:00:00Z", short).status_code == 201


@pytest.mark.parametrize(
    ("params", "field"),
    [
        pytest.param({"from": "0001-01-01T00:00:00Z", "to": "0001-01-03T00:00:00Z"}, "from"),
        pytest.param(
            {"from": "9999-12-01T00:00:00Z", "to": "9999-12-31T00:00:00Z"}, "from"
        ),  # the core time type refuses both
        pytest.param({"from": "2024-01-01T00:00:00Z", "to": "2024-01-02T00:00:00Z"}, "from"),
        pytest.param({"from": "2027-08-01T00:00:00Z", "to": "2027-08-02T00:00:00Z"}, "to"),
        pytest.param({"from": "2026-05-04T00:00:00Z", "to": "2026-07-06T00:00:01Z"}, "to"),
    ],
)
def test_rules__availability_far_off_or_too_long__is_422_on_its_field(
    booking: Booking, params: dict[str, str], field: str
) -> None:
    for resource_id in (booking.resource_id, booking.hours_resource_id):
        response = booking.client.get(
            f"/api/v1/resources/{resource_id}/availability", params=params | {"tenant": "testby"}
        )
        assert_refused(response, field)
