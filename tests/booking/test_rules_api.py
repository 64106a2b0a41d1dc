"""Each booking rule through the HTTP API, as a portal and staff use it: set up on a resource,
each refusal a 422 naming the rule and the field with nothing stored, the cleaning buffer as a
conflict (also under concurrency), the charged late cancellation, and availability that offers
nothing a booking would be refused for. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from hallkey.booking import issue_api_token
from hallkey.booking.models import Customer, Reservation
from tests.booking.conftest import Booking, race, reservation_body

# T0 is Monday 2026-05-04 06:00Z (08:00 in Oslo, UTC+2 in May).


def setup_headers(booking: Booking) -> dict[str, str]:
    with booking.ctx.database.transaction() as session:
        token = issue_api_token(
            booking.ctx, session, tenant_id=booking.tenant_id, name="setup", scopes=["setup"]
        )
    return {"Authorization": f"Bearer {token}"}


def ruled_resource(booking: Booking, **rules: Any) -> str:
    """Returns a new resource of the seeded venue, set up through the API with these rules."""
    headers = setup_headers(booking)
    venue = booking.client.get("/api/v1/venues", headers=headers).json()[0]
    made = booking.client.post(
        "/api/v1/resources",
        json={"venue_id": venue["id"], "name": "Ruled hall", "door_ids": ["dor_r"]} | rules,
        headers=headers,
    )
    assert made.status_code == 201, made.text
    resource_id: str = made.json()["id"]
    return resource_id


def book(
    booking: Booking, resource_id: str, start: str, end: str, email: str = "kari@example.no"
) -> httpx.Response:
    body = reservation_body(resource_id, start, end)
    body["customer"]["email"] = email
    response: httpx.Response = booking.client.post(
        "/api/v1/reservations", json=body, headers=booking.headers()
    )
    return response


def assert_refused(response: httpx.Response, code: str, field: str) -> None:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"]) == (code, field), error


RULE_CASES = [
    pytest.param(
        {"opening_hours": {"tue": [["08:00", "22:00"]]}},
        ("2026-05-05T19:00:00Z", "2026-05-05T21:00:00Z"),
        ("outside_opening_hours", "start"),
        id="opening_hours",
    ),
    pytest.param(
        {"closed_periods": [{"from": "2026-05-06", "to": "2026-05-07", "reason": "Maling"}]},
        ("2026-05-07T10:00:00Z", "2026-05-07T11:00:00Z"),
        ("closed_date", "start"),
        id="closed_period",
    ),
    pytest.param(
        {"public_holidays_closed": True},
        ("2026-05-17T10:00:00Z", "2026-05-17T11:00:00Z"),  # Constitution Day
        ("public_holiday", "start"),
        id="public_holiday",
    ),
    pytest.param(
        {"slot_minutes": 30},
        ("2026-05-05T10:10:00Z", "2026-05-05T11:00:00Z"),
        ("off_grid", "start"),
        id="off_grid_start",
    ),
    pytest.param(
        {"slot_minutes": 30},
        ("2026-05-05T10:00:00Z", "2026-05-05T11:10:00Z"),
        ("off_grid", "end"),
        id="off_grid_end",
    ),
    pytest.param(
        {"min_booking_minutes": 60},
        ("2026-05-05T10:00:00Z", "2026-05-05T10:30:00Z"),
        ("too_short", "end"),
        id="too_short",
    ),
    pytest.param(
        {"max_booking_minutes": 120},
        ("2026-05-05T10:00:00Z", "2026-05-05T13:00:00Z"),
        ("too_long", "end"),
        id="too_long",
    ),
    pytest.param(
        {"horizon_days": 30},
        ("2026-06-10T10:00:00Z", "2026-06-10T11:00:00Z"),
        ("too_far_ahead", "start"),
        id="too_far_ahead",
    ),
    pytest.param(
        {"lead_minutes": 240},
        ("2026-05-04T08:00:00Z", "2026-05-04T09:00:00Z"),
        ("too_late", "start"),
        id="too_late",
    ),
]


@pytest.mark.parametrize(("rules", "frame", "refusal"), RULE_CASES)
def test_rules_api__each_rule__is_422_naming_it_and_stores_nothing(
    booking: Booking, rules: dict[str, Any], frame: tuple[str, str], refusal: tuple[str, str]
) -> None:
    resource_id = ruled_resource(booking, **rules)
    assert_refused(book(booking, resource_id, *frame), *refusal)
    assert booking.count(Reservation) == 0
    assert booking.count(Customer) == 0
    # The same frame on a resource without the rule is fine.
    assert book(booking, booking.resource_id, *frame).status_code == 201


def test_rules_api__move_breaking_a_rule__is_422_naming_it_and_changes_nothing(
    booking: Booking,
) -> None:
    resource_id = ruled_resource(
        booking,
        slot_minutes=30,
        closed_periods=[{"from": "2026-05-07", "to": "2026-05-07"}],
        lead_minutes=60,
    )
    created = book(booking, resource_id, "2026-05-05T10:00:00Z", "2026-05-05T11:00:00Z").json()
    url = f"/api/v1/reservations/{created['id']}"
    moves = [
        ({"start": "2026-05-07T10:00:00Z", "end": "2026-05-07T11:00:00Z"}, "closed_date"),
        ({"end": "2026-05-05T11:15:00Z"}, "off_grid"),
        ({"start": "2026-05-04T06:30:00Z", "end": "2026-05-04T07:30:00Z"}, "too_late"),
    ]
    for body, code in moves:
        moved = booking.client.patch(url, json=body, headers=booking.headers())
        assert moved.status_code == 422 and moved.json()["error"]["code"] == code, moved.text
    got = booking.client.get(url, headers=booking.headers()).json()
    assert (got["start"], got["end"], got["version"]) == (created["start"], created["end"], 1)


def test_rules_api__open_bookings_per_customer__the_next_one_is_refused_until_one_ends(
    booking: Booking,
) -> None:
    resource_id = ruled_resource(booking, max_open_bookings=2)
    ids = []
    for day in ("05", "06"):
        made = book(booking, resource_id, f"2026-05-{day}T10:00:00Z", f"2026-05-{day}T11:00:00Z")
        assert made.status_code == 201
        ids.append(made.json()["id"])
    seventh = ("2026-05-07T10:00:00Z", "2026-05-07T11:00:00Z")
    assert_refused(book(booking, resource_id, *seventh), "too_many_open_bookings", "customer.email")
    assert booking.count(Reservation) == 2
    # Another customer, and another resource, are not limited by these.
    assert book(booking, resource_id, *seventh, email="ola@example.no").status_code == 201
    assert book(booking, booking.resource_id, *seventh).status_code == 201
    # A cancelled booking no longer counts, nor does one that has ended.
    cancel = booking.client.post(f"/api/v1/reservations/{ids[0]}/cancel", headers=booking.headers())
    assert cancel.status_code == 200
    assert (
        book(booking, resource_id, "2026-05-08T10:00:00Z", "2026-05-08T11:00:00Z").status_code
        == 201
    )
    ninth = ("2026-05-09T10:00:00Z", "2026-05-09T11:00:00Z")
    assert_refused(book(booking, resource_id, *ninth), "too_many_open_bookings", "customer.email")
    booking.clock.set(booking.clock.now().replace(day=6, hour=12))  # the 6th's booking has ended
    assert book(booking, resource_id, *ninth).status_code == 201


def test_rules_api__buffer__bookings_closer_than_it_conflict_and_at_it_are_fine(
    booking: Booking,
) -> None:
    resource_id = ruled_resource(booking, buffer_minutes=30)
    assert (
        book(booking, resource_id, "2026-05-05T10:00:00Z", "2026-05-05T11:00:00Z").status_code
        == 201
    )
    for start, end in [
        ("2026-05-05T11:15:00Z", "2026-05-05T12:00:00Z"),  # inside the first one's buffer
        ("2026-05-05T09:00:00Z", "2026-05-05T09:45:00Z"),  # its own buffer reaches 10:15
    ]:
        taken = book(booking, resource_id, start, end)
        assert taken.status_code == 409 and taken.json()["error"]["code"] == "time_taken"
    assert (
        book(booking, resource_id, "2026-05-05T11:30:00Z", "2026-05-05T12:00:00Z").status_code
        == 201
    )
    assert (
        book(booking, resource_id, "2026-05-05T08:30:00Z", "2026-05-05T09:30:00Z").status_code
        == 201
    )
    assert booking.count(Reservation) == 3


def test_rules_api__buffer_changed__existing_bookings_keep_theirs(booking: Booking) -> None:
    resource_id = ruled_resource(booking, buffer_minutes=60)
    first = book(booking, resource_id, "2026-05-05T10:00:00Z", "2026-05-05T11:00:00Z")
    assert first.status_code == 201
    patched = booking.client.patch(
        f"/api/v1/resources/{resource_id}",
        json={"buffer_minutes": 0},
        headers=setup_headers(booking),
    )
    assert patched.status_code == 200 and patched.json()["buffer_minutes"] == 0
    # The first booking still holds its hour of cleaning; a new one holds none.
    taken = book(booking, resource_id, "2026-05-05T11:30:00Z", "2026-05-05T12:00:00Z")
    assert taken.status_code == 409
    assert (
        book(booking, resource_id, "2026-05-05T12:00:00Z", "2026-05-05T13:00:00Z").status_code
        == 201
    )
    assert (
        book(booking, resource_id, "2026-05-05T13:00:00Z", "2026-05-05T14:00:00Z").status_code
        == 201
    )


def test_rules_api__late_cancellation__is_allowed_and_marked_charged(booking: Booking) -> None:
    resource_id = ruled_resource(booking, free_cancellation_hours=24)
    early = book(booking, resource_id, "2026-05-06T10:00:00Z", "2026-05-06T11:00:00Z").json()
    late = book(booking, resource_id, "2026-05-04T20:00:00Z", "2026-05-04T21:00:00Z").json()
    assert late["cancellation_charged"] is False
    for made, charged in ((early, False), (late, True)):
        url = f"/api/v1/reservations/{made['id']}"
        cancelled = booking.client.post(f"{url}/cancel", headers=booking.headers())
        assert cancelled.status_code == 200
        assert cancelled.json()["status"] == "cancelled"
        assert cancelled.json()["cancellation_charged"] is charged
        shown = booking.client.get(url, headers=booking.headers()).json()
        assert shown["cancellation_charged"] is charged
    # Without the rule, cancelling is always free.
    free = book(booking, booking.resource_id, "2026-05-04T20:00:00Z", "2026-05-04T21:00:00Z")
    url = f"/api/v1/reservations/{free.json()['id']}/cancel"
    assert (
        booking.client.post(url, headers=booking.headers()).json()["cancellation_charged"] is False
    )


def test_rules_api__availability__offers_only_what_would_be_accepted(booking: Booking) -> None:
    weekdays = {day: [["08:00", "22:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
    resource_id = ruled_resource(
        booking,
        opening_hours=weekdays,
        closed_periods=[{"from": "2026-05-06", "to": "2026-05-06"}],
        public_holidays_closed=True,
        slot_minutes=30,
        lead_minutes=50,
        buffer_minutes=30,
        min_booking_minutes=60,
        horizon_days=10,
    )
    booked = book(booking, resource_id, "2026-05-04T10:00:00Z", "2026-05-04T11:00:00Z")
    assert booked.status_code == 201
    answer = booking.client.get(
        f"/api/v1/resources/{resource_id}/availability",
        params={"from": "2026-05-04T00:00:00Z", "to": "2026-05-18T00:00:00Z", "tenant": "testby"},
    )
    assert answer.status_code == 200, answer.text
    got = answer.json()
    assert got["busy"] == [{"start": "2026-05-04T10:00:00Z", "end": "2026-05-04T11:00:00Z"}]
    free = [(f["start"], f["end"]) for f in got["free"]]
    assert free[:4] == [
        ("2026-05-04T07:00:00Z", "2026-05-04T09:30:00Z"),  # now + 50 min, on the grid
        ("2026-05-04T11:30:00Z", "2026-05-04T20:00:00Z"),  # after the booking's buffer
        ("2026-05-05T06:00:00Z", "2026-05-05T20:00:00Z"),
        ("2026-05-07T06:00:00Z", "2026-05-07T20:00:00Z"),  # the 6th is closed
    ]
    # Ascension Day (the 14th) is a public holiday; the horizon ends on the 14th at 06:00Z.
    assert free[-1][0] == "2026-05-13T06:00:00Z"
    assert all(not start.startswith(("2026-05-09", "2026-05-10")) for start, _ in free)
    # Every free frame's edges are bookings the API accepts.
    for start, end in free:
        for edge in ((start, _plus(start, 60)), (_plus(end, -60), end)):
            made = book(booking, resource_id, *edge)
            assert made.status_code == 201, (edge, made.text)
            url = f"/api/v1/reservations/{made.json()['id']}/cancel"
            assert booking.client.post(url, headers=booking.headers()).status_code == 200


def _plus(moment: str, minutes: int) -> str:
    shifted = datetime.fromisoformat(moment) + timedelta(minutes=minutes)
    return shifted.isoformat().replace("+00:00", "Z")


def test_rules_api__setup__shows_rules_and_clears_them_with_null(booking: Booking) -> None:
    headers = setup_headers(booking)
    resource_id = ruled_resource(
        booking,
        slot_minutes=60,
        max_open_bookings=3,
        free_cancellation_hours=48,
        closed_periods=[
            {"from": "2026-12-24", "to": "2026-12-26", "reason": "Jul"},
            {"from": "2026-07-01", "to": "2026-07-31"},
        ],
    )
    url = f"/api/v1/resources/{resource_id}"
    shown = booking.client.patch(url, json={"lead_minutes": 30}, headers=headers).json()
    assert shown["closed_periods"] == [
        {"from": "2026-07-01", "to": "2026-07-31", "reason": None},
        {"from": "2026-12-24", "to": "2026-12-26", "reason": "Jul"},
    ]
    assert (shown["slot_minutes"], shown["max_open_bookings"], shown["lead_minutes"]) == (60, 3, 30)
    cleared = booking.client.patch(
        url,
        json={"slot_minutes": None, "max_open_bookings": None, "closed_periods": []},
        headers=headers,
    ).json()
    assert (cleared["slot_minutes"], cleared["max_open_bookings"]) == (None, None)
    assert (cleared["closed_periods"], cleared["free_cancellation_hours"]) == ([], 48)
    public = booking.client.get("/api/v1/resources", params={"tenant": "testby"}).json()
    assert next(r for r in public if r["id"] == resource_id)["lead_minutes"] == 30


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"slot_minutes": 7}, "slot_minutes"),
        ({"buffer_minutes": -5}, "buffer_minutes"),
        ({"max_open_bookings": 0}, "max_open_bookings"),
        ({"closed_periods": [{"from": "2026-12-26", "to": "2026-12-24"}]}, "closed_periods"),
        ({"closed_periods": [{"from": "24.12.2026", "to": "2026-12-26"}]}, "closed_periods.0.from"),
    ],
)
def test_rules_api__setup_out_of_bounds__is_422_naming_the_field_and_changes_nothing(
    booking: Booking, body: dict[str, Any], field: str
) -> None:
    resource_id = ruled_resource(booking, slot_minutes=30)
    url = f"/api/v1/resources/{resource_id}"
    refused = booking.client.patch(url, json=body, headers=setup_headers(booking))
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["field"] == field
    venues = booking.client.get("/api/v1/venues", headers=setup_headers(booking)).json()
    resource = next(r for v in venues for r in v["resources"] if r["id"] == resource_id)
    assert (resource["slot_minutes"], resource["closed_periods"]) == (30, [])


def test_concurrency__bookings_only_closer_than_the_buffer__one_wins(booking: Booking) -> None:
    """Twenty clients at once for two frames that do not overlap but lie closer than the
    buffer: exactly one booking is made (on PostgreSQL the exclusion constraint over the
    widened range decides a race the check cannot see)."""
    resource_id = ruled_resource(booking, buffer_minutes=30)
    frames = [
        ("2026-05-05T10:00:00Z", "2026-05-05T11:00:00Z"),
        ("2026-05-05T11:10:00Z", "2026-05-05T12:00:00Z"),
    ]
    bodies = []
    for n in range(20):
        body = reservation_body(resource_id, *frames[n % 2])
        bodies.append(body | {"customer": dict(body["customer"], email=f"guest{n}@example.no")})
    results = race(booking, bodies)

    assert sorted(results) == [201] + [409] * 19
    assert booking.count(Reservation) == 1


def test_concurrency__one_new_customer_at_once__gets_only_the_open_bookings_allowed(
    booking: Booking,
) -> None:
    """Ten bookings of one new customer at once, each for another day, on a resource allowing
    two open bookings: two are made, eight refused (the customer's bookings count one after
    the other, even before the customer is stored)."""
    resource_id = ruled_resource(booking, max_open_bookings=2)
    bodies = [
        reservation_body(
            resource_id, f"2026-05-{day:02d}T10:00:00Z", f"2026-05-{day:02d}T11:00:00Z"
        )
        for day in range(5, 15)
    ]
    assert race(booking, bodies) == [201] * 2 + [422] * 8
    assert booking.count(Reservation) == 2
    assert booking.count(Customer) == 1
