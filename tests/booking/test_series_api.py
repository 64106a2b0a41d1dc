"""The series API without a hub: its input, the resource's rules per occurrence, its email."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from icalendar import Calendar, Event

from hallkey.booking.models import Reservation
from hallkey.booking.series_models import Series
from tests.booking.conftest import Booking
from tests.booking.test_rules_api import book, ruled_resource
from tests.booking.test_series import series_body

# T0 is Monday 2026-05-04 06:00Z (08:00 in Oslo).


def post(booking: Booking, **extra: Any) -> httpx.Response:
    body = series_body(extra.pop("resource_id", booking.resource_id), **extra)
    response: httpx.Response = booking.client.post(
        "/api/v1/series", json=body, headers=booking.headers()
    )
    return response


def refused(response: httpx.Response, field: str, code: str | None = None) -> None:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["field"] == field, error
    if code is not None:
        assert error["code"] == code, error


def test_series_api__no_occurrence__422_naming_weekdays_and_nothing_stored(
    booking: Booking,
) -> None:
    # 2026-09-07 is a Monday: no Tuesday in a one-day range.
    response = post(booking, from_date="2026-09-07", to_date="2026-09-07")
    refused(response, "weekdays")
    assert (booking.count(Series), booking.count(Reservation)) == (0, 0)


def test_series_api__bad_input__422_naming_the_field(booking: Booking) -> None:
    refused(post(booking, start_time="18.00"), "start_time")
    refused(post(booking, end_time="17:00"), "end_time")
    refused(post(booking, from_date="2026-05-01", to_date="2026-06-01"), "from_date")
    refused(post(booking, to_date="2026-08-01"), "to_date")
    refused(post(booking, to_date="2027-09-07"), "to_date")
    refused(post(booking, every_weeks=0), "every_weeks")
    bad_weekday = post(booking, weekdays=[8])
    assert bad_weekday.status_code == 422
    assert bad_weekday.json()["error"]["field"].startswith("weekdays")
    missing = booking.client.post(
        "/api/v1/series",
        json={k: v for k, v in series_body(booking.resource_id).items() if k != "on_conflict"},
        headers=booking.headers(),
    )
    assert missing.status_code == 422
    assert missing.json()["error"]["field"] == "on_conflict"
    assert (booking.count(Series), booking.count(Reservation)) == (0, 0)


def test_series_api__horizon__binds_the_first_occurrence_not_the_season(
    booking: Booking,
) -> None:
    resource = ruled_resource(booking, horizon_days=60)
    refused(post(booking, resource_id=resource), "from_date", "too_far_ahead")
    # From 2026-06-02 (29 days ahead) for 26 weeks: most Tuesdays lie beyond the horizon.
    made = post(booking, resource_id=resource, from_date="2026-06-02", to_date="2026-11-24")
    assert made.status_code == 201, made.text
    assert len(made.json()["occurrences"]) == 26


def test_series_api__open_bookings_limit__not_applied_to_nor_counting_a_series(
    booking: Booking,
) -> None:
    resource = ruled_resource(booking, max_open_bookings=1)
    made = post(booking, resource_id=resource, to_date="2026-10-27")
    assert made.status_code == 201, made.text
    assert len(made.json()["occurrences"]) == 9
    single = book(booking, resource, "2026-05-05T10:00:00Z", "2026-05-05T11:00:00Z")
    assert single.status_code == 201, single.text
    again = book(booking, resource, "2026-05-06T10:00:00Z", "2026-05-06T11:00:00Z")
    assert again.status_code == 422
    assert again.json()["error"]["code"] == "too_many_open_bookings"


def test_series_api__closed_dates_and_holidays__left_out_and_listed(booking: Booking) -> None:
    resource = ruled_resource(
        booking,
        public_holidays_closed=True,
        closed_periods=[{"from": "2026-12-11", "to": "2026-12-11", "reason": "Juleball"}],
    )
    made = post(
        booking,
        resource_id=resource,
        weekdays=[5],
        from_date="2026-12-04",
        to_date="2027-01-08",
        except_dates=["2026-12-18"],
    )
    assert made.status_code == 201, made.text
    data = made.json()
    assert [o["start"][:10] for o in data["occurrences"]] == ["2026-12-04", "2027-01-08"]
    assert data["skipped"] == [
        {"date": "2026-12-11", "reason": "closed_date"},
        {"date": "2026-12-25", "reason": "public_holiday"},
        {"date": "2027-01-01", "reason": "public_holiday"},
    ]
    assert data["except_dates"] == ["2026-12-18"]
    assert data["conflicts"] == []


def test_series_api__outside_opening_hours__every_occurrence__422_naming_start_time(
    booking: Booking,
) -> None:
    # The meeting room opens 08:00-22:00 on Monday to Wednesday.
    response = post(booking, resource_id=booking.hours_resource_id, end_time="23:00")
    refused(response, "start_time", "outside_opening_hours")
    assert booking.count(Series) == 0


def test_series_api__some_days_closed_by_opening_hours__skip_books_the_rest(
    booking: Booking,
) -> None:
    # Tuesdays and Thursdays; the meeting room is shut on Thursdays.
    body: dict[str, Any] = {"weekdays": [2, 4], "to_date": "2026-09-10"}
    failed = post(booking, resource_id=booking.hours_resource_id, **body)
    assert failed.status_code == 409, failed.text
    conflicts = failed.json()["error"]["conflicts"]
    assert [c["start"][:10] for c in conflicts] == ["2026-09-03", "2026-09-10"]
    assert {c["reason"] for c in conflicts} == {"outside_opening_hours"}
    skipped = post(booking, resource_id=booking.hours_resource_id, on_conflict="skip", **body)
    assert skipped.status_code == 201, skipped.text
    assert [o["start"][:10] for o in skipped.json()["occurrences"]] == [
        "2026-09-01",
        "2026-09-08",
    ]
    assert len(skipped.json()["conflicts"]) == 2


def _outbox(booking: Booking) -> Path:
    return booking.ctx.settings.outbox_dir / "booking"


def test_series_api__one_email_for_the_series__with_each_occurrence_in_its_calendar(
    booking: Booking,
) -> None:
    made = post(booking)
    assert made.status_code == 201, made.text
    series = made.json()
    booking.ctx.worker.run_pending()
    texts = list(_outbox(booking).glob("*.txt"))
    assert len(texts) == 1
    base = _outbox(booking) / f"{series['id']}_confirmed_v1-email"
    text = base.with_suffix(".txt").read_text()
    assert "Subject: Bekreftet: Main hall" in text
    assert "tirsdag kl. 18:00\u201320:00" in text
    assert "(40 ganger)" in text
    assert series["ref"] in text
    calendar = Calendar.from_ical(Path(f"{base}.1.series.ics").read_bytes())
    events = [c for c in calendar.walk() if isinstance(c, Event)]
    assert calendar["METHOD"] == "REQUEST"
    assert len(events) == 40
    assert len({str(e["UID"]) for e in events}) == 40
    assert events[8].decoded("DTSTART").isoformat() == "2026-10-27T17:00:00+00:00"

    cancelled = booking.client.post(
        f"/api/v1/series/{series['id']}/cancel",
        json={"from": "2027-05-01"},
        headers=booking.headers(),
    )
    assert cancelled.status_code == 200, cancelled.text
    booking.ctx.worker.run_pending()
    version = cancelled.json()["version"]
    base = _outbox(booking) / f"{series['id']}_cancelled_v{version}-email"
    calendar = Calendar.from_ical(Path(f"{base}.1.series.ics").read_bytes())
    events = [c for c in calendar.walk() if isinstance(c, Event)]
    assert calendar["METHOD"] == "CANCEL"
    assert len(events) == 5  # the Tuesdays of May 2027 and 1 June
    assert {str(e["STATUS"]) for e in events} == {"CANCELLED"}


def test_series_api__another_tenant__404_and_unchanged(booking: Booking) -> None:
    made = post(booking)
    series_id = made.json()["id"]
    other = booking.headers(booking.other_token)
    assert booking.client.get(f"/api/v1/series/{series_id}", headers=other).status_code == 404
    cancel = booking.client.post(f"/api/v1/series/{series_id}/cancel", headers=other)
    assert cancel.status_code == 404
    assert (
        booking.client.get(f"/api/v1/series/{series_id}", headers=booking.headers()).json()[
            "status"
        ]
        == "confirmed"
    )


def test_series_api__customer_erased__the_series_forgets_the_contact(booking: Booking) -> None:
    made = post(booking, to_date="2026-09-08")
    series = made.json()
    cancelled = booking.client.post(
        f"/api/v1/series/{series['id']}/cancel", headers=booking.headers()
    )
    assert cancelled.status_code == 200
    customer_id = series["customer"]["id"]
    erased = booking.client.post(
        f"/api/v1/customers/{customer_id}/erase", headers=booking.headers()
    )
    assert erased.status_code == 200, erased.text
    after = booking.client.get(f"/api/v1/series/{series['id']}", headers=booking.headers()).json()
    assert after["customer"] == {"id": customer_id, "name": None, "phone": None, "email": None}
    assert after["ref"] == series["ref"]


def test_series_api__door_events_of_the_series_ref__shown_on_the_occurrence_they_fall_in(
    booking: Booking,
) -> None:
    series = post(booking, to_date="2026-09-15").json()
    first, second, third = series["occurrences"]
    pushed = booking.client.post(
        "/api/v1/access-events",
        json={
            "events": [
                {
                    "id": "hev_series_1",
                    "ref": series["ref"],
                    "door": "dor_a",
                    "kind": "access_granted",
                    "at": "2026-09-08T16:05:00Z",  # 18:05 in Oslo, the second Tuesday
                }
            ]
        },
        headers=booking.headers(booking.events_token),
    )
    assert pushed.status_code == 200, pushed.text
    assert pushed.json()["accepted"] == 1

    def events(occurrence: dict[str, Any]) -> list[str]:
        answer = booking.client.get(
            f"/api/v1/reservations/{occurrence['id']}", headers=booking.headers()
        )
        assert answer.status_code == 200
        assert answer.json()["series_id"] == series["id"]
        return [e["at"] for e in answer.json()["events"]]

    assert events(second) == ["2026-09-08T16:05:00Z"]
    assert events(first) == [] and events(third) == []
