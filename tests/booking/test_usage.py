"""Usage and no-shows from door events: per reservation (`usage`) and per venue (`/usage`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from hallkey.booking import create_resource
from hallkey.booking.models import Resource
from tests.booking.conftest import Booking, reservation_body
from tests.booking.staff_world import make_world

DAY = "2026-05-04"
PERIOD = {"from": f"{DAY}T00:00:00Z", "to": "2026-05-05T00:00:00Z"}


def _book(booking: Booking, start: str, end: str, resource_id: str | None = None) -> Any:
    body = reservation_body(resource_id or booking.resource_id, f"{DAY}T{start}Z", f"{DAY}T{end}Z")
    made = booking.client.post("/api/v1/reservations", json=body, headers=booking.headers())
    assert made.status_code == 201, made.text
    return made.json()


def _event(booking: Booking, event_id: str, ref: str, at: str, kind: str, **extra: Any) -> None:
    body = {
        "events": [
            {
                "id": event_id,
                "ref": ref,
                "door": "dor_a",
                "door_name": "Main door",
                "kind": kind,
                "at": f"{DAY}T{at}Z",
                **extra,
            }
        ]
    }
    pushed = booking.client.post(
        "/api/v1/access-events", json=body, headers=booking.headers(booking.events_token)
    )
    assert pushed.json() == {"accepted": 1, "rejected": []}, pushed.text


def _usage_of(booking: Booking, reservation_id: str) -> str:
    got = booking.client.get(f"/api/v1/reservations/{reservation_id}", headers=booking.headers())
    assert got.status_code == 200, got.text
    return str(got.json()["usage"])


def _venue(booking: Booking) -> str:
    with booking.ctx.database.transaction() as session:
        resource = session.get(Resource, booking.resource_id)
        assert resource is not None
        return resource.venue_id


def _report(booking: Booking, **params: str) -> Any:
    query = {"venue": _venue(booking), **PERIOD, **params}
    got = booking.client.get("/api/v1/usage", params=query, headers=booking.headers())
    assert got.status_code == 200, got.text
    return got.json()


def test_usage__door_events__decide_used_no_show_unknown_and_a_late_event_corrects_it(
    booking: Booking,
) -> None:
    used = _book(booking, "10:00:00", "12:00:00")
    refused = _book(booking, "13:00:00", "14:00:00")
    later = _book(booking, "15:00:00", "17:00:00")
    cancelled = _book(booking, "18:00:00", "19:00:00")
    assert used["usage"] == "unknown"  # a new booking: not yet used
    cancel = booking.client.post(
        f"/api/v1/reservations/{cancelled['id']}/cancel", headers=booking.headers()
    )
    assert cancel.status_code == 200
    _event(booking, "hev_1", used["ref"], "09:50:00", "access_granted")  # 15 min before: in
    _event(booking, "hev_2", refused["ref"], "13:05:00", "access_denied", reason="unknown_code")
    # Before anything ended: nothing is a no-show yet.
    booking.clock.set(datetime.fromisoformat(f"{DAY}T11:00:00+00:00"))
    assert _usage_of(booking, used["id"]) == "used"
    assert _usage_of(booking, refused["id"]) == "unknown"
    # After the refused one's access window (its end + 15 minutes), before the last one's end.
    booking.clock.set(datetime.fromisoformat(f"{DAY}T14:15:00+00:00"))
    assert _usage_of(booking, refused["id"]) == "no_show"
    assert _usage_of(booking, later["id"]) == "unknown"
    assert _usage_of(booking, cancelled["id"]) == "not_applicable"

    report = _report(booking)
    total = report["total"]
    assert total["booked"] == {"count": 3, "minutes": 300, "hours": 5.0}
    assert total["used"] == {"count": 1, "minutes": 120, "hours": 2.0}
    assert total["no_show"] == {"count": 1, "minutes": 60, "hours": 1.0}
    assert total["unknown"] == {"count": 1, "minutes": 120, "hours": 2.0}
    main = next(r for r in report["resources"] if r["resource_id"] == booking.resource_id)
    assert main["booked"]["count"] == 3 and main["name"] == "Main hall"
    assert report["no_shows"] == [
        {
            "id": refused["id"],
            "ref": refused["ref"],
            "resource_id": booking.resource_id,
            "resource": "Main hall",
            "start": f"{DAY}T13:00:00Z",
            "end": f"{DAY}T14:00:00Z",
            "customer": "Kari Nordmann",
        }
    ]

    # The door's event arrives late (the controller was offline): the no-show is corrected.
    _event(booking, "hev_3", refused["ref"], "13:10:00", "door_pulsed")
    assert _usage_of(booking, refused["id"]) == "used"
    report = _report(booking)
    assert report["no_shows"] == []
    assert report["total"]["used"] == {"count": 2, "minutes": 180, "hours": 3.0}


def test_usage__event_outside_the_access_window__is_not_use(booking: Booking) -> None:
    made = _book(booking, "10:00:00", "11:00:00")
    # 20 minutes before the start: outside the window (15 minutes before).
    _event(booking, "hev_early", made["ref"], "09:40:00", "access_granted")
    booking.clock.set(datetime.fromisoformat(f"{DAY}T12:00:00+00:00"))
    assert _usage_of(booking, made["id"]) == "no_show"


def test_usage__a_public_events_unlock__is_not_applicable(booking: Booking) -> None:
    ctx = booking.ctx
    with ctx.database.transaction() as session:
        open_doors = create_resource(
            ctx,
            session,
            venue_id=_venue(booking),
            name="Open day",
            door_ids=["dor_o"],
            access_operation="unlock",
        )
    made = _book(booking, "10:00:00", "11:00:00", open_doors)
    booking.clock.set(datetime.fromisoformat(f"{DAY}T12:00:00+00:00"))
    assert _usage_of(booking, made["id"]) == "not_applicable"
    report = _report(booking)
    assert report["total"]["not_applicable"]["count"] == 1
    assert report["total"]["no_show"]["count"] == 0
    assert report["no_shows"] == []


def test_usage__hours__come_from_utc_durations_across_the_autumn_dst_change(
    booking: Booking,
) -> None:
    # 01:00-04:00 on 25 October in Oslo: three hours on the wall clock, four real ones.
    body = reservation_body(booking.resource_id, "2026-10-24T23:00:00Z", "2026-10-25T03:00:00Z")
    made = booking.client.post("/api/v1/reservations", json=body, headers=booking.headers())
    assert made.status_code == 201, made.text
    report = _report(booking, **{"from": "2026-10-24T00:00:00Z", "to": "2026-10-26T00:00:00Z"})
    assert report["total"]["booked"] == {"count": 1, "minutes": 240, "hours": 4.0}


def test_usage__bad_input__4xx_naming_the_field(booking: Booking) -> None:
    venue = _venue(booking)
    cases = [
        ({"venue": venue, "from": PERIOD["to"], "to": PERIOD["from"]}, 422, "to"),
        ({"venue": venue, "from": "2026-01-01T00:00:00Z", "to": "2027-03-01T00:00:00Z"}, 422, "to"),
        ({"venue": "ven_nope", **PERIOD}, 404, "venue"),
        ({"venue": venue, "from": "yesterday", "to": PERIOD["to"]}, 422, "from"),
        ({"venue": venue, "from": PERIOD["from"]}, 422, "to"),
    ]
    for params, status, field in cases:
        got = booking.client.get("/api/v1/usage", params=params, headers=booking.headers())
        assert got.status_code == status, (params, got.text)
        assert got.json()["error"]["field"] == field, got.text


def test_usage__caretaker__sees_its_venue_without_customers_and_not_another(
    booking: Booking,
) -> None:
    made = _book(booking, "10:00:00", "11:00:00")
    booking.clock.set(datetime.fromisoformat(f"{DAY}T12:00:00+00:00"))
    world = make_world(booking)  # signed in now: sessions end when idle
    own = world.request(
        "GET",
        f"/api/v1/usage?venue={world.venue_a}&from={PERIOD['from']}&to={PERIOD['to']}",
        world.callers["caretaker session (own venue)"],
    )
    assert own.status_code == 200, own.text
    assert [n["id"] for n in own.json()["no_shows"]] == [made["id"]]
    assert own.json()["no_shows"][0]["customer"] is None
    assert "Kari" not in own.text
    officer = world.request(
        "GET",
        f"/api/v1/usage?venue={world.venue_a}&from={PERIOD['from']}&to={PERIOD['to']}",
        world.callers["case officer session"],
    )
    assert officer.json()["no_shows"][0]["customer"] == "Kari Nordmann"
    for name in ("caretaker session (other venue)", "other tenant's admin"):
        other = world.request(
            "GET",
            f"/api/v1/usage?venue={world.venue_a}&from={PERIOD['from']}&to={PERIOD['to']}",
            world.callers[name],
        )
        assert other.status_code == 404, (name, other.text)
        assert made["id"] not in other.text


def test_usage__thirty_bookings_back_to_back__add_up(booking: Booking) -> None:
    start = datetime.fromisoformat(f"{DAY}T07:00:00+00:00")
    for i in range(30):
        at = start + timedelta(minutes=30 * i)
        body = reservation_body(
            booking.resource_id,
            at.isoformat().replace("+00:00", "Z"),
            (at + timedelta(minutes=30)).isoformat().replace("+00:00", "Z"),
        )
        made = booking.client.post("/api/v1/reservations", json=body, headers=booking.headers())
        assert made.status_code == 201, made.text
        if i % 2 == 0:
            ref = made.json()["ref"]
            _event(booking, f"hev_{i}", ref, at.strftime("%H:%M:%S"), "access_granted")
    booking.clock.set(start + timedelta(days=3))
    report = _report(booking, to="2026-05-07T00:00:00Z")
    assert report["total"]["used"]["count"] == 15
    assert report["total"]["no_show"]["count"] == 15
    assert report["total"]["booked"]["minutes"] == 30 * 30
