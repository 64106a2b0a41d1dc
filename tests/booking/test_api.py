"""The booking API through HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from hallkey.booking.models import Customer, Reservation
from tests.booking.conftest import Booking, race, reservation_body

START = "2026-05-04T10:00:00Z"
END = "2026-05-04T12:00:00Z"


def pending_jobs(booking: Booking) -> int:
    with booking.ctx.database.transaction() as session:
        return booking.ctx.jobs.pending_count(session, "sync_access")


def create(booking: Booking, start: str = START, end: str = END, **extra: Any) -> httpx.Response:
    body = reservation_body(booking.resource_id, start, end, **extra)
    response: httpx.Response = booking.client.post(
        "/api/v1/reservations", json=body, headers=booking.headers()
    )
    return response


def test_reservation__created__is_confirmed_and_queues_its_access(booking: Booking) -> None:
    response = create(booking)
    assert response.status_code == 201, response.text
    data = response.json()
    assert data["id"].startswith("bkg_")
    assert data["ref"].startswith("rsv_")
    assert data["status"] == "confirmed"
    assert data["start"] == START and data["end"] == END
    assert data["resource_id"] == booking.resource_id
    assert data["customer"] == {
        "id": data["customer"]["id"],
        "name": "Kari Nordmann",
        "phone": "+4741234567",
        "email": "kari@example.no",
    }
    assert data["customer"]["id"].startswith("cus_")
    assert data["access"] == {"state": "pending", "credential": "pin"}
    assert data["events"] == []
    assert pending_jobs(booking) == 1

    got = booking.client.get(f"/api/v1/reservations/{data['id']}", headers=booking.headers())
    assert got.status_code == 200
    assert got.json() == data


def test_reservation__times_with_an_offset__are_stored_in_utc(booking: Booking) -> None:
    response = create(booking, "2026-05-04T12:00:00+02:00", "2026-05-04T14:00:00+02:00")
    assert response.status_code == 201, response.text
    assert response.json()["start"] == START
    assert response.json()["end"] == END


def test_reservation__same_customer_email__reuses_the_customer(booking: Booking) -> None:
    assert create(booking).status_code == 201
    body = reservation_body(booking.resource_id, END, "2026-05-04T13:00:00Z")
    body["customer"]["name"] = "Kari N. Nordmann"
    body["customer"]["email"] = "kari@EXAMPLE.no"
    response = booking.client.post("/api/v1/reservations", json=body, headers=booking.headers())
    assert response.status_code == 201, response.text
    assert response.json()["customer"]["name"] == "Kari N. Nordmann"
    assert booking.count(Customer) == 1


def test_reservation__needing_approval__is_requested_until_approved(booking: Booking) -> None:
    body = reservation_body(booking.approval_resource_id, START, END)
    response = booking.client.post("/api/v1/reservations", json=body, headers=booking.headers())
    assert response.status_code == 201
    assert response.json()["status"] == "requested"
    assert pending_jobs(booking) == 0
    # A request holds its time too.
    again = booking.client.post("/api/v1/reservations", json=body, headers=booking.headers())
    assert again.status_code == 409

    rid = response.json()["id"]
    approved = booking.client.post(f"/api/v1/reservations/{rid}/approve", headers=booking.headers())
    assert approved.status_code == 200
    assert approved.json()["status"] == "confirmed"
    assert approved.json()["version"] == 2
    assert pending_jobs(booking) == 1


def test_reservation__taken_slot__is_409_time_taken_but_touching_is_fine(
    booking: Booking,
) -> None:
    assert create(booking).status_code == 201
    taken = create(booking, "2026-05-04T11:00:00Z", "2026-05-04T13:00:00Z")
    assert taken.status_code == 409
    assert taken.json()["error"]["code"] == "time_taken"
    assert create(booking, END, "2026-05-04T13:00:00Z").status_code == 201
    assert create(booking, "2026-05-04T09:00:00Z", START).status_code == 201
    assert booking.count(Reservation) == 3


def test_reservation__moved__bumps_version_and_queues_its_access(booking: Booking) -> None:
    rid = create(booking).json()["id"]
    moved = booking.client.patch(
        f"/api/v1/reservations/{rid}",
        json={"start": "2026-05-04T14:00:00Z", "end": "2026-05-04T15:00:00Z"},
        headers=booking.headers(),
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["start"] == "2026-05-04T14:00:00Z"
    assert moved.json()["version"] == 2
    assert pending_jobs(booking) == 2
    # Moving within its own old frame does not conflict with itself.
    later = booking.client.patch(
        f"/api/v1/reservations/{rid}",
        json={"end": "2026-05-04T16:00:00Z"},
        headers=booking.headers(),
    )
    assert later.status_code == 200
    assert later.json()["version"] == 3


def test_reservation__moved_onto_a_taken_slot__is_409_and_unchanged(booking: Booking) -> None:
    assert create(booking).status_code == 201
    rid = create(booking, "2026-05-04T14:00:00Z", "2026-05-04T15:00:00Z").json()["id"]
    moved = booking.client.patch(
        f"/api/v1/reservations/{rid}",
        json={"start": "2026-05-04T11:30:00Z"},
        headers=booking.headers(),
    )
    assert moved.status_code == 409
    assert moved.json()["error"]["code"] == "time_taken"
    got = booking.client.get(f"/api/v1/reservations/{rid}", headers=booking.headers()).json()
    assert got["start"] == "2026-05-04T14:00:00Z"
    assert got["version"] == 1


def test_reservation__moved_to_end_before_start__is_422_on_end(booking: Booking) -> None:
    rid = create(booking).json()["id"]
    moved = booking.client.patch(
        f"/api/v1/reservations/{rid}",
        json={"end": "2026-05-04T09:00:00Z"},
        headers=booking.headers(),
    )
    assert moved.status_code == 422
    assert moved.json()["error"]["field"] == "end"


def test_reservation__cancelled__frees_the_slot_and_cannot_be_moved(booking: Booking) -> None:
    rid = create(booking).json()["id"]
    cancelled = booking.client.post(f"/api/v1/reservations/{rid}/cancel", headers=booking.headers())
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["version"] == 2
    assert pending_jobs(booking) == 2
    again = booking.client.post(f"/api/v1/reservations/{rid}/cancel", headers=booking.headers())
    assert again.status_code == 200
    assert again.json()["version"] == 2
    assert pending_jobs(booking) == 2

    moved = booking.client.patch(
        f"/api/v1/reservations/{rid}",
        json={"start": "2026-05-04T09:00:00Z"},
        headers=booking.headers(),
    )
    assert moved.status_code == 409
    assert create(booking).status_code == 201


BAD_INPUTS: list[tuple[str, dict[str, Any], int, str]] = [
    ("end_before_start", {"end": "2026-05-04T09:00:00Z"}, 422, "end"),
    ("end_equal_start", {"end": START}, 422, "end"),
    ("end_in_past", {"start": "2026-05-03T10:00:00Z", "end": "2026-05-03T12:00:00Z"}, 422, "end"),
    ("naive_start", {"start": "2026-05-04T10:00:00"}, 422, "start"),
    ("not_a_time", {"end": "tomorrow"}, 422, "end"),
    ("unknown_resource", {"resource_id": "res_nope"}, 404, "resource_id"),
    (
        "bad_phone",
        {"customer": {"name": "K", "phone": "12", "email": "k@example.no"}},
        422,
        "customer.phone",
    ),
    (
        "bad_email",
        {"customer": {"name": "K", "phone": "41234567", "email": "k@@example"}},
        422,
        "customer.email",
    ),
    (
        "no_name",
        {"customer": {"name": "", "phone": "41234567", "email": "k@example.no"}},
        422,
        "customer.name",
    ),
    (
        "control_character_in_name",
        {"customer": {"name": "K\x00ari", "phone": "41234567", "email": "k@example.no"}},
        422,
        "customer.name",
    ),
    (
        "control_character_in_organisation",
        {
            "customer": {
                "name": "Kari",
                "phone": "41234567",
                "email": "k@example.no",
                "organisation": "IL\u0007",
            }
        },
        422,
        "customer.organisation",
    ),
    *[
        (
            f"name_{label}",
            {"customer": {"name": name, "phone": "41234567", "email": "k@example.no"}},
            422,
            "customer.name",
        )
        for label, name in [
            ("only_spaces", "   "),
            ("only_tabs_and_nbsp", "\t\u00a0 "),
            ("right_to_left_override", "Kari\u202enamrodroN"),
            ("left_to_right_embedding", "\u202aKari"),
            ("first_strong_isolate", "Kari \u2068Nordmann\u2069"),
            ("zero_width_space", "Ka\u200bri"),
            ("zero_width_joiner", "Ka\u200dri"),
            ("word_joiner", "Ka\u2060ri"),
            ("byte_order_mark", "\ufeffKari"),
            ("soft_hyphen_format", "Ka\u00adri"),
        ]
    ],
    *[
        (
            f"organisation_{label}",
            {
                "customer": {
                    "name": "Kari",
                    "phone": "41234567",
                    "email": "k@example.no",
                    "organisation": organisation,
                }
            },
            422,
            "customer.organisation",
        )
        for label, organisation in [("only_spaces", "  "), ("pop_directional", "IL\u202c")]
    ],
    *[
        (
            f"phone_{label}",
            {"customer": {"name": "Kari", "phone": phone, "email": "k@example.no"}},
            422,
            "customer.phone",
        )
        for label, phone in [
            ("extension", "+47 412 34 567 ext. 12"),
            ("rfc3966_extension", "+47 412 34 567;ext=12"),
            ("x_extension", "412 34 567 x12"),
        ]
    ],
    ("bad_credential", {"access": {"credential": "fingerprint"}}, 422, "access.credential"),
    ("credential_not_offered", {"access": {"credential": "url_key"}}, 422, "access.credential"),
]


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [pytest.param(c, s, f, id=name) for name, c, s, f in BAD_INPUTS],
)
def test_reservation__bad_input__is_refused_with_its_field_and_stores_nothing(
    booking: Booking, change: dict[str, Any], status: int, field: str
) -> None:
    body = reservation_body(booking.resource_id, START, END)
    body.update(change)
    response = booking.client.post("/api/v1/reservations", json=body, headers=booking.headers())
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["field"] == field
    if "customer" in change:  # the message names the field, never the value
        assert change["customer"]["phone"] not in error["message"]
        assert change["customer"]["email"] not in error["message"]
    assert booking.count(Reservation) == 0
    assert booking.count(Customer) == 0
    assert pending_jobs(booking) == 0


def test_reservation__names_with_surrounding_spaces__are_stored_trimmed(booking: Booking) -> None:
    customer = {
        "name": "  Kari Nordmann\u00a0",
        "phone": "412 34 567",
        "email": "kari@example.no",
        "organisation": " Kari IL ",
    }
    response = create(booking, customer=customer)
    assert response.status_code == 201, response.text
    assert response.json()["customer"]["name"] == "Kari Nordmann"
    exported = booking.client.get(
        f"/api/v1/customers/{response.json()['customer']['id']}", headers=booking.headers()
    ).json()
    assert (exported["name"], exported["organisation"]) == ("Kari Nordmann", "Kari IL")


def test_reservation__outside_opening_hours__is_422_on_start(booking: Booking) -> None:
    # Opening hours 08:00-22:00 Oslo time (UTC+2 in May) on Mondays.
    ok = reservation_body(booking.hours_resource_id, "2026-05-04T06:00:00Z", "2026-05-04T07:00:00Z")
    early = reservation_body(
        booking.hours_resource_id, "2026-05-04T05:30:00Z", "2026-05-04T07:00:00Z"
    )
    late = reservation_body(
        booking.hours_resource_id, "2026-05-04T19:00:00Z", "2026-05-04T20:30:00Z"
    )
    for body in (early, late):
        response = booking.client.post("/api/v1/reservations", json=body, headers=booking.headers())
        assert response.status_code == 422
        assert response.json()["error"]["field"] == "start"
    assert booking.count(Reservation) == 0
    response = booking.client.post("/api/v1/reservations", json=ok, headers=booking.headers())
    assert response.status_code == 201


def test_auth__missing_or_invalid_token__is_401(booking: Booking) -> None:
    body = reservation_body(booking.resource_id, START, END)
    assert booking.client.post("/api/v1/reservations", json=body).status_code == 401
    for token in ("nonsense", "hkb_0000.secret", booking.token + "x"):
        response = booking.client.post(
            "/api/v1/reservations", json=body, headers=booking.headers(token)
        )
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"
    assert booking.count(Reservation) == 0


def test_tenant_isolation__another_tenant_sees_and_books_nothing_of_mine(booking: Booking) -> None:
    rid = create(booking).json()["id"]
    other = booking.headers(booking.other_token)
    assert booking.client.get(f"/api/v1/reservations/{rid}", headers=other).status_code == 404
    assert (
        booking.client.post(f"/api/v1/reservations/{rid}/cancel", headers=other).status_code == 404
    )
    patched = booking.client.patch(f"/api/v1/reservations/{rid}", json={}, headers=other)
    assert patched.status_code == 404
    body = reservation_body(booking.resource_id, "2026-05-05T10:00:00Z", "2026-05-05T11:00:00Z")
    response = booking.client.post("/api/v1/reservations", json=body, headers=other)
    assert response.status_code == 404
    assert response.json()["error"]["field"] == "resource_id"
    # The other tenant books its own resource fine.
    own = reservation_body(booking.other_resource_id, START, END)
    assert booking.client.post("/api/v1/reservations", json=own, headers=other).status_code == 201


def test_resources__are_listed_publicly(booking: Booking) -> None:
    response = booking.client.get("/api/v1/resources", params={"tenant": "testby"})
    assert response.status_code == 200
    main = next(r for r in response.json() if r["id"] == booking.resource_id)
    assert main == {
        "id": booking.resource_id,
        "name": "Main hall",
        "venue": "Testby hall",
        "timezone": "Europe/Oslo",
        "credential": "pin",
        "access_before_minutes": 15,
        "access_after_minutes": 15,
        "min_booking_minutes": 15,
        "max_booking_minutes": 1440,
        "horizon_days": 365,
        "prices": [],
        "slot_minutes": None,
        "lead_minutes": 0,
        "buffer_minutes": 0,
        "closed_periods": [],
        "public_holidays_closed": False,
        "max_open_bookings": None,
        "free_cancellation_hours": None,
    }


def test_availability__shows_busy_and_free_inside_opening_hours(booking: Booking) -> None:
    body = reservation_body(
        booking.hours_resource_id, "2026-05-04T10:00:00Z", "2026-05-04T12:00:00Z"
    )
    assert (
        booking.client.post(
            "/api/v1/reservations", json=body, headers=booking.headers()
        ).status_code
        == 201
    )
    response = booking.client.get(
        f"/api/v1/resources/{booking.hours_resource_id}/availability",
        params={
            "from": "2026-05-04T00:00:00+02:00",
            "to": "2026-05-05T00:00:00+02:00",
            "tenant": "testby",
        },
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "resource_id": booking.hours_resource_id,
        "from": "2026-05-03T22:00:00Z",
        "to": "2026-05-04T22:00:00Z",
        "busy": [{"start": "2026-05-04T10:00:00Z", "end": "2026-05-04T12:00:00Z"}],
        "free": [
            {"start": "2026-05-04T06:00:00Z", "end": "2026-05-04T10:00:00Z"},
            {"start": "2026-05-04T12:00:00Z", "end": "2026-05-04T20:00:00Z"},
        ],
    }


def test_availability__bad_range__is_422_on_its_field(booking: Booking) -> None:
    url = f"/api/v1/resources/{booking.resource_id}/availability"
    tenant = {"tenant": "testby"}
    naive = booking.client.get(url, params={"from": "2026-05-04T00:00:00", "to": END} | tenant)
    assert naive.status_code == 422
    assert naive.json()["error"]["field"] == "from"
    too_long = booking.client.get(
        url, params={"from": START, "to": "2026-07-06T10:00:00Z"} | tenant
    )
    assert too_long.status_code == 422
    assert too_long.json()["error"]["field"] == "to"
    missing = booking.client.get(url, params={"from": START} | tenant)
    assert missing.status_code == 422
    assert missing.json()["error"]["field"] == "to"
    unknown = booking.client.get(
        "/api/v1/resources/res_nope/availability",
        params={"from": START, "to": END, "tenant": "testby"},
    )
    assert unknown.status_code == 404


def test_openapi__describes_the_booking_api(booking: Booking) -> None:
    doc = booking.client.get("/api/openapi.json").json()
    assert "/api/v1/reservations" in doc["paths"]
    assert "/api/v1/resources/{resource_id}/availability" in doc["paths"]


def test_concurrency__twenty_requests_for_one_slot__one_wins_nineteen_get_409(
    booking: Booking,
) -> None:
    body = reservation_body(booking.resource_id, START, END)
    bodies = [
        body | {"customer": dict(body["customer"], email=f"guest{n % 10}@example.no")}
        for n in range(20)
    ]
    results = race(booking, bodies)

    assert sorted(results) == [201] + [409] * 19
    assert booking.count(Reservation) == 1


def test_reservation__request_that_is_over__cannot_be_approved(booking: Booking) -> None:
    body = reservation_body(booking.approval_resource_id, START, END)
    rid = booking.client.post("/api/v1/reservations", json=body, headers=booking.headers()).json()[
        "id"
    ]
    booking.clock.set(booking.clock.now().replace(hour=12))  # END
    approve = booking.client.post(f"/api/v1/reservations/{rid}/approve", headers=booking.headers())
    assert approve.status_code == 409
    assert approve.json()["error"]["code"] == "ended"
    deny = booking.client.post(
        f"/api/v1/reservations/{rid}/deny", json={"reason": "too late"}, headers=booking.headers()
    )
    assert deny.status_code == 200
    assert pending_jobs(booking) == 1  # the denial, which tells the hub nothing it knows
