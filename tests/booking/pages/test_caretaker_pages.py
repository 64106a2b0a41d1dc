"""The caretaker's pages through the real HTTP app: `/admin/today` (their venues' bookings,
access, usage, and opening a door through the real hub) and `/admin/usage` (no-shows)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.booking.conftest import Booking, BookingFactory, reservation_body
from tests.booking.hub_proxy import START, World, start_real_hub
from tests.booking.pages.staff_pages_world import Staffed, staffed
from tests.conftest import DatabaseUrlFactory


@pytest.fixture
def hubbed(
    make_booking: BookingFactory, database_url: DatabaseUrlFactory, tmp_path: Path
) -> Iterator[tuple[World, Staffed]]:
    """A booking context wired to the real hub, with staff of every role."""
    with start_real_hub(make_booking, database_url, tmp_path) as (booking, real_hub):
        yield World(booking, real_hub), staffed(booking)


def _reserve(booking: Booking, resource_id: str, start: str, end: str) -> dict[str, Any]:
    made = booking.client.post(
        "/api/v1/reservations",
        json=reservation_body(resource_id, start, end),
        headers=booking.headers(),
    )
    assert made.status_code == 201, made.text
    data: dict[str, Any] = made.json()
    return data


def _row(html: str, reservation_id: str) -> str:
    """Returns the list item of a booking on the page ("" when it is not listed)."""
    found = re.search(
        rf'<li class="booking card" data-reservation="{reservation_id}">(.*?)</li>', html, re.S
    )
    return found.group(1) if found else ""


def test_today__caretaker_sees_its_venues_bookings_and_opens_a_door_while_valid(
    hubbed: tuple[World, Staffed],
) -> None:
    world, staff = hubbed
    booking = world.booking
    ours = world.reserve()
    theirs = _reserve(booking, staff.resource_b, START, "2026-05-04T11:00:00Z")
    world.run_jobs()
    assert world.get(ours["id"])["access"]["state"] == "granted"

    caretaker = staff.user("caretaker-a")
    page = caretaker.client.get("/admin/today")
    assert page.status_code == 200
    row = _row(page.text, ours["id"])
    # 10:00Z is 12:00 in Oslo (summer time); the access is ready, the use not yet known.
    assert "12:00\u201314:00" in row and "Main hall" in row
    assert 'data-access="granted"' in row and 'data-usage="unknown"' in row
    assert "Åpne døren" not in row  # its access starts at 09:45Z
    assert _row(page.text, theirs["id"]) == ""
    assert _row(staff.user("caretaker-b").client.get("/admin/today").text, ours["id"]) == ""

    # Before the access window: the hub refuses, the page says so.
    early = caretaker.post(f"/admin/today/{ours['id']}/open", {"door": "dor_a"})
    assert early.status_code == 409
    assert "Bookingens tilgang gjelder ikke for den døren nå." in early.text

    booking.clock.advance(timedelta(hours=4, minutes=30))  # 10:30Z
    caretaker = staff.user("caretaker-a")  # the idle sign-in has ended meanwhile
    page = caretaker.client.get("/admin/today?lang=en")
    row = _row(page.text, ours["id"])
    assert "Open the door dor_a" in row and "Open the door dor_b" in row
    opened = caretaker.post(f"/admin/today/{ours['id']}/open", {"door": "dor_b"})
    assert opened.status_code == 200, opened.text
    assert re.search(r"The door dor_b is open until 12:3\d:\d\d\.", opened.text)
    pulses = [body for name, body, _ in world.hub.calls if name == "GrantPulseAccess"]
    # The hub was asked twice: refused before the window, now granted.
    assert pulses == [{"ref": ours["ref"], "door": "dor_a"}, {"ref": ours["ref"], "door": "dor_b"}]

    # Not one of the resource's doors; another venue's caretaker; no CSRF token.
    wrong_door = caretaker.post(f"/admin/today/{ours['id']}/open", {"door": "dor_d"})
    assert wrong_door.status_code == 422
    other = staff.user("caretaker-b")
    assert other.post(f"/admin/today/{ours['id']}/open", {"door": "dor_a"}).status_code == 404
    forged = caretaker.post(f"/admin/today/{ours['id']}/open", {"door": "dor_a"}, csrf=False)
    assert forged.status_code == 403
    assert len([name for name, _, _ in world.hub.calls if name == "GrantPulseAccess"]) == 2


def test_today__a_case_officer_reads_but_cannot_open__others_are_refused(
    booking: Booking,
) -> None:
    staff = staffed(booking)
    made = _reserve(booking, booking.resource_id, START, "2026-05-04T12:00:00Z")
    officer = staff.user("officer")
    page = officer.client.get("/admin/today")
    assert page.status_code == 200
    assert _row(page.text, made["id"]) and "Åpne døren" not in page.text
    assert officer.post(f"/admin/today/{made['id']}/open", {"door": "dor_a"}).status_code == 403
    other = staff.user("admin", tenant="annenby")
    assert _row(other.client.get("/admin/today").text, made["id"]) == ""
    assert other.post(f"/admin/today/{made['id']}/open", {"door": "dor_a"}).status_code == 404
    booking.client.cookies.clear()
    anonymous = booking.client.get("/admin/today?tenant=testby", follow_redirects=False)
    assert anonymous.status_code == 303


def test_today__weeks_move_with_week__a_bad_week_is_refused(booking: Booking) -> None:
    staff = staffed(booking)
    made = _reserve(booking, booking.resource_id, "2026-05-12T16:00:00Z", "2026-05-12T17:00:00Z")
    caretaker = staff.user("caretaker-a")
    assert _row(caretaker.client.get("/admin/today").text, made["id"]) == ""
    next_week = caretaker.client.get("/admin/today?week=2026-05-13")
    assert _row(next_week.text, made["id"])
    assert "18:00\u201319:00" in _row(next_week.text, made["id"])
    assert "tirsdag 12. mai 2026" in next_week.text
    assert caretaker.client.get("/admin/today?week=mandag").status_code == 422


def _event(booking: Booking, ref: str, at: str) -> None:
    body = {
        "events": [
            {"id": f"evt_{ref}", "ref": ref, "door": "dor_a", "kind": "access_granted", "at": at}
        ]
    }
    pushed = booking.client.post(
        "/api/v1/access-events", json=body, headers=booking.headers(booking.events_token)
    )
    assert pushed.json() == {"accepted": 1, "rejected": []}, pushed.text


def test_usage__a_booking_whose_window_passed_unused__is_a_no_show(booking: Booking) -> None:
    staff = staffed(booking)
    used = _reserve(booking, booking.resource_id, START, "2026-05-04T12:00:00Z")
    missed = _reserve(booking, booking.resource_id, "2026-05-04T14:00:00Z", "2026-05-04T15:30:00Z")
    _event(booking, used["ref"], "2026-05-04T10:05:00Z")
    booking.clock.advance(timedelta(hours=12))
    caretaker = staff.user("caretaker-a")  # signed in after the clock moved
    page = caretaker.client.get(f"/admin/usage?venue={staff.venue_a}&from=2026-05-04&to=2026-05-10")
    assert page.status_code == 200, page.text
    total = re.search(r"<tr data-total>(.*?)</tr>", page.text, re.S)
    assert total is not None
    # Booked 3.5 h (2), used 2 h (1), no-show 1.5 h (1), in Norwegian numbers.
    assert "<td>3,5 (2)</td><td>2 (1)</td><td>1,5 (1)</td>" in total.group(1)
    assert f'data-reservation="{missed["id"]}"' in page.text
    assert f'data-reservation="{used["id"]}"' not in page.text
    # A caretaker is told no customer; the days default to this week.
    assert "Kari Nordmann" not in page.text
    assert caretaker.client.get("/admin/usage").status_code == 200
    # Another venue's, another tenant's: unknown.
    assert caretaker.client.get(f"/admin/usage?venue={staff.venue_b}").status_code == 404
    other = staff.user("admin", tenant="annenby")
    assert other.client.get(f"/admin/usage?venue={staff.venue_a}").status_code == 404
    # A case officer sees the customer of a no-show.
    officer_page = staff.user("officer").client.get(
        f"/admin/usage?venue={staff.venue_a}&from=2026-05-04&to=2026-05-04&lang=en"
    )
    assert "Kari Nordmann" in officer_page.text and "No-shows" in officer_page.text
    assert caretaker.client.get("/admin/usage?from=i+går").status_code == 422
