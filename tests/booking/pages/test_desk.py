"""The case officer's desk pages through the real HTTP app: who may open which page (as the
API's scopes say), tenants and venues, CSRF, decisions, one reservation, moving, cancelling."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.booking.conftest import BookingFactory
from tests.booking.hub_proxy import start_real_hub
from tests.booking.pages.desk_world import (
    PASSWORD,
    Desk,
    make_desk,
    request_on_stage,
    status_of,
    sync_jobs,
)
from tests.conftest import DatabaseUrlFactory

PAGES = [
    "/admin/requests",
    "/admin/calendar",
    "/admin/reservations",
    "/admin/customers",
]


# --- who may open what ---------------------------------------------------------------------


@pytest.mark.parametrize("path", [*PAGES, "/admin/reservations/res_x", "/admin/customers/cus_x"])
def test_signed_out__is_sent_to_login_and_back(desk: Desk, path: str) -> None:
    response = desk.browser().get(path)
    assert response.status_code == 303
    assert response.headers["location"] == f"/login?next={path}"


def test_caretaker__may_not_decide_or_see_customers__as_the_api_says(desk: Desk) -> None:
    made = request_on_stage(desk)
    caretaker = desk.signed_in("caretaker-a")
    assert caretaker.get("/admin/requests").status_code == 403
    assert caretaker.get("/admin/customers").status_code == 403
    assert caretaker.get(f"/admin/customers/{made['customer']['id']}").status_code == 403
    assert caretaker.get(f"/admin/customers/{made['customer']['id']}/export").status_code == 403
    refused = caretaker.post(f"/admin/reservations/{made['id']}/approve", {})
    assert refused.status_code == 403
    assert caretaker.post(f"/admin/reservations/{made['id']}/cancel", {}).status_code == 403
    assert status_of(desk, made["id"])[0] == "requested"
    # It reads its venue's reservations; the page offers no decision to it.
    page = caretaker.get(f"/admin/reservations/{made['id']}")
    assert page.status_code == 200
    assert "/approve" not in page.text and "/cancel" not in page.text
    assert caretaker.get("/admin/reservations").status_code == 200


def test_caretaker__another_venues_reservation_is_unknown(desk: Desk) -> None:
    school = desk.book(desk.resource_b, "2026-05-05T10:00:00Z", "2026-05-05T11:00:00Z")
    hall = desk.book(desk.booking.resource_id, "2026-05-05T10:00:00Z", "2026-05-05T11:00:00Z")
    caretaker = desk.signed_in("caretaker-a")
    assert caretaker.get(f"/admin/reservations/{school['id']}").status_code == 404
    listing = caretaker.get("/admin/reservations").text
    assert hall["id"] in listing and school["id"] not in listing
    calendar = caretaker.get("/admin/calendar", week="2026-W19").text
    assert hall["id"] in calendar and school["id"] not in calendar
    assert caretaker.get("/admin/calendar", venue=desk.venue_b).status_code == 404
    opened = caretaker.post(f"/admin/reservations/{school['id']}/open", {"door": "dor_s"})
    assert opened.status_code == 404


def test_another_tenants_reservation_and_customer__are_404(desk: Desk) -> None:
    body = {
        "resource_id": desk.booking.other_resource_id,
        "start": "2026-05-05T10:00:00Z",
        "end": "2026-05-05T11:00:00Z",
        "customer": {"name": "Ola", "phone": "412 34 568", "email": "ola@example.no"},
    }
    theirs = desk.booking.client.post(
        "/api/v1/reservations", json=body, headers=desk.booking.headers(desk.booking.other_token)
    ).json()
    admin = desk.signed_in("admin")
    assert admin.get(f"/admin/reservations/{theirs['id']}").status_code == 404
    assert admin.get(f"/admin/customers/{theirs['customer']['id']}").status_code == 404
    assert admin.post(f"/admin/reservations/{theirs['id']}/cancel", {}).status_code == 404
    erase = admin.post(f"/admin/customers/{theirs['customer']['id']}/erase", {})
    assert erase.status_code == 404
    assert theirs["id"] not in admin.get("/admin/reservations").text
    # The other tenant's admin is nobody on this tenant's pages.
    desk.add_other_admin()
    other = desk.browser("http://testserver")
    other.get("/login", tenant="annenby")
    signed = other.post("/login/staff?tenant=annenby", {"username": "other", "password": PASSWORD})
    assert signed.status_code == 303
    assert other.get("/admin/reservations", tenant="annenby").status_code == 200
    assert other.get("/admin/reservations", tenant="testby").status_code == 303


# --- requests and decisions ----------------------------------------------------------------


def test_requests__list_the_waiting_with_price__and_approve_confirms_and_queues_a_sync(
    desk: Desk,
) -> None:
    first = request_on_stage(desk, 6, name="Siri Leder")
    second = request_on_stage(desk, 5)
    desk.book(desk.booking.resource_id, "2026-05-05T10:00:00Z", "2026-05-05T11:00:00Z")
    officer = desk.signed_in("officer")
    page = officer.get("/admin/requests")
    assert page.status_code == 200
    text = page.text
    # Oldest first (by start), only requests, each with its resource, local time, customer.
    assert text.index(second["id"]) < text.index(first["id"])
    assert "Stage" in text and "Siri Leder" in text and "18:00\u201320:00" in text
    assert text.count('data-reservation="') == 2
    queued = sync_jobs(desk)
    approved = officer.post(
        f"/admin/reservations/{first['id']}/approve", {"from": "requests", "venue": ""}
    )
    assert approved.status_code == 303
    assert approved.headers["location"].startswith("/admin/requests?")
    assert status_of(desk, first["id"])[0] == "confirmed"
    assert sync_jobs(desk) == queued + 1
    after = officer.get(approved.headers["location"])
    assert "Godkjent: Stage" in after.text and first["ref"] in after.text
    assert f'data-reservation="{first["id"]}"' not in after.text
    decision = desk.api(f"/api/v1/reservations/{first['id']}")["decision"]
    assert decision["by"].startswith("staff:")
    detail = officer.get(f"/admin/reservations/{first['id']}").text
    assert "officer" in detail


def test_deny__without_a_reason_is_422_next_to_the_field_and_changes_nothing(desk: Desk) -> None:
    made = request_on_stage(desk)
    officer = desk.signed_in("officer")
    before = status_of(desk, made["id"])
    refused = officer.post(
        f"/admin/reservations/{made['id']}/deny", {"reason": "   ", "from": "requests"}
    )
    assert refused.status_code == 422
    assert f'aria-describedby="reason-error-{made["id"]}"' in refused.text
    assert 'aria-invalid="true"' in refused.text
    assert status_of(desk, made["id"]) == before
    # From the reservation's own page, the page comes back with its error.
    again = officer.post(f"/admin/reservations/{made['id']}/deny", {"reason": ""})
    assert again.status_code == 422 and "reason-error-" in again.text
    assert status_of(desk, made["id"]) == before
    denied = officer.post(
        f"/admin/reservations/{made['id']}/deny", {"reason": "Hallen er opptatt til kamp."}
    )
    assert denied.status_code == 303
    assert status_of(desk, made["id"])[:2] == ("denied", "Hallen er opptatt til kamp.")
    detail = officer.get(denied.headers["location"]).text
    assert "Avslått: Stage" in detail and "Hallen er opptatt til kamp." in detail


def test_csrf_missing_or_wrong__is_403_and_changes_nothing(desk: Desk) -> None:
    made = request_on_stage(desk)
    officer = desk.signed_in("officer")
    before = status_of(desk, made["id"])
    for action, data in (("approve", {}), ("deny", {"reason": "Nei"}), ("cancel", {})):
        missing = officer.post(f"/admin/reservations/{made['id']}/{action}", data, csrf=False)
        assert missing.status_code == 403, action
        wrong = officer.post(
            f"/admin/reservations/{made['id']}/{action}", {**data, "csrf": "x" * 43}, csrf=False
        )
        assert wrong.status_code == 403, action
    assert status_of(desk, made["id"]) == before
    erase = officer.post(f"/admin/customers/{made['customer']['id']}/erase", {}, csrf=False)
    assert erase.status_code == 403
    assert desk.api(f"/api/v1/customers/{made['customer']['id']}")["erased_at"] is None


def test_approve_after_a_denial__is_a_409_page(desk: Desk) -> None:
    made = request_on_stage(desk)
    officer = desk.signed_in("officer")
    officer.post(f"/admin/reservations/{made['id']}/deny", {"reason": "Nei"})
    late = officer.post(f"/admin/reservations/{made['id']}/approve", {})
    assert late.status_code == 409
    assert status_of(desk, made["id"])[0] == "denied"


def test_venue_filter__shows_one_venues_requests(desk: Desk) -> None:
    made = request_on_stage(desk)
    officer = desk.signed_in("officer")
    page = officer.get("/admin/requests", venue=desk.venue_b)
    assert made["id"] not in page.text and 'id="venue"' in page.text
    assert made["id"] in officer.get("/admin/requests", venue=desk.venue_a).text


# --- one reservation -------------------------------------------------------------------------


def test_reservation__shows_customer_price_access_and_events(desk: Desk) -> None:
    made = desk.book(desk.booking.resource_id, "2026-05-05T10:00:00Z", "2026-05-05T11:00:00Z")
    officer = desk.signed_in("officer")
    page = officer.get(f"/admin/reservations/{made['id']}")
    assert page.status_code == 200
    text = page.text
    assert "Kari Nordmann" in text and "kari@example.no" in text
    assert "12:00\u201313:00" in text  # 10:00Z is noon in Oslo in May
    assert "Venter" in text  # access pending: the hub has not answered
    assert "Huben kan ikke spørres om dørene nå." in text  # nothing listens at its address
    assert "Ingen dørhendelser" in text
    assert f"/admin/customers/{made['customer']['id']}" in text
    english = officer.get(f"/admin/reservations/{made['id']}", lang="en").text
    assert "No door events" in english and 'lang="en"' in english


def test_reservation__door_events_oldest_first__was_it_used(desk: Desk) -> None:
    made = desk.book(desk.booking.resource_id, "2026-05-05T10:00:00Z", "2026-05-05T11:00:00Z")
    events = [
        {
            "id": "ev2",
            "ref": made["ref"],
            "door": "dor_b",
            "door_name": "Side door",
            "kind": "access_denied",
            "reason": "outside_window",
            "at": "2026-05-05T09:40:00Z",
        },
        {
            "id": "ev1",
            "ref": made["ref"],
            "door": "dor_a",
            "door_name": "Main door",
            "kind": "access_granted",
            "at": "2026-05-05T09:50:00Z",
        },
    ]
    pushed = desk.booking.client.post(
        "/api/v1/access-events",
        json={"events": events},
        headers=desk.booking.headers(desk.booking.events_token),
    )
    assert pushed.status_code == 200, pushed.text
    caretaker = desk.signed_in("caretaker-a")
    text = caretaker.get(f"/admin/reservations/{made['id']}").text
    assert text.index("Side door") < text.index("Main door")
    assert "Avvist (outside_window)" in text and "Sluppet inn" in text
    assert "11:40" in text and "11:50" in text  # on the venue's clock


def test_move__takes_the_venues_clock_and_moves_the_reservation(desk: Desk) -> None:
    made = desk.book(desk.booking.resource_id, "2026-05-05T10:00:00Z", "2026-05-05T11:00:00Z")
    officer = desk.signed_in("officer")
    moved = officer.post(
        f"/admin/reservations/{made['id']}/move",
        {"date": "2026-05-06", "start": "18:00", "end": "19:30"},
    )
    assert moved.status_code == 303, moved.text
    view = desk.api(f"/api/v1/reservations/{made['id']}")
    assert (view["start"], view["end"]) == ("2026-05-06T16:00:00Z", "2026-05-06T17:30:00Z")
    # After the clocks go back (25 October), 18:00 in Oslo is 17:00Z.
    winter = officer.post(
        f"/admin/reservations/{made['id']}/move",
        {"date": "2026-10-26", "start": "18:00", "end": "19:30"},
    )
    assert winter.status_code == 303, winter.text
    view = desk.api(f"/api/v1/reservations/{made['id']}")
    assert (view["start"], view["end"]) == ("2026-10-26T17:00:00Z", "2026-10-26T18:30:00Z")
    # An end before the start is on the next day.
    late = officer.post(
        f"/admin/reservations/{made['id']}/move",
        {"date": "2026-10-26", "start": "22:00", "end": "01:00"},
    )
    assert late.status_code == 303, late.text
    view = desk.api(f"/api/v1/reservations/{made['id']}")
    assert (view["start"], view["end"]) == ("2026-10-26T21:00:00Z", "2026-10-27T00:00:00Z")
    before = status_of(desk, made["id"])
    bad = officer.post(
        f"/admin/reservations/{made['id']}/move",
        {"date": "6. mai", "start": "18:00", "end": "19:30"},
    )
    assert bad.status_code == 422
    assert 'aria-describedby="date-error"' in bad.text and 'value="6. mai"' in bad.text
    assert status_of(desk, made["id"]) == before


def test_move__onto_taken_time_is_409_and_changes_nothing(desk: Desk) -> None:
    made = desk.book(desk.booking.resource_id, "2026-05-05T10:00:00Z", "2026-05-05T11:00:00Z")
    desk.book(desk.booking.resource_id, "2026-05-05T12:00:00Z", "2026-05-05T13:00:00Z")
    officer = desk.signed_in("officer")
    before = status_of(desk, made["id"])
    taken = officer.post(
        f"/admin/reservations/{made['id']}/move",
        {"date": "2026-05-05", "start": "14:00", "end": "15:00"},
    )
    assert taken.status_code == 409
    assert 'value="14:00"' in taken.text and 'class="error"' in taken.text
    assert status_of(desk, made["id"]) == before


def test_cancel__cancels_and_queues_the_revoke(desk: Desk) -> None:
    made = desk.book(desk.booking.resource_id, "2026-05-05T10:00:00Z", "2026-05-05T11:00:00Z")
    officer = desk.signed_in("officer")
    queued = sync_jobs(desk)
    cancelled = officer.post(f"/admin/reservations/{made['id']}/cancel", {})
    assert cancelled.status_code == 303
    assert status_of(desk, made["id"])[0] == "cancelled"
    assert sync_jobs(desk) == queued + 1
    assert "Avbestilt" in officer.get(cancelled.headers["location"]).text


def test_open_door__a_door_not_of_the_resource_is_422(desk: Desk) -> None:
    made = desk.book(desk.booking.resource_id, "2026-05-05T10:00:00Z", "2026-05-05T11:00:00Z")
    caretaker = desk.signed_in("caretaker-a")
    page = caretaker.get(f"/admin/reservations/{made['id']}")
    assert 'action="/admin/reservations/' in page.text and "/open" in page.text
    wrong = caretaker.post(f"/admin/reservations/{made['id']}/open", {"door": "dor_x"})
    assert wrong.status_code == 422 and 'aria-describedby="door-error"' in wrong.text
    # The officer's role may not open doors: no button, and a post is refused.
    officer = desk.signed_in("officer")
    assert "/open" not in officer.get(f"/admin/reservations/{made['id']}").text
    assert (
        officer.post(f"/admin/reservations/{made['id']}/open", {"door": "dor_a"}).status_code == 403
    )


def test_reservation__shows_each_doors_state_as_the_hub_holds_it(
    make_booking: BookingFactory, database_url: DatabaseUrlFactory, tmp_path: Path
) -> None:
    with start_real_hub(make_booking, database_url, tmp_path) as (booking, real_hub):
        desk = make_desk(booking)
        made = desk.book(booking.resource_id, "2026-05-05T10:00:00Z", "2026-05-05T11:00:00Z")
        booking.ctx.worker.run_pending()  # the grant reaches the hub
        officer = desk.signed_in("officer")

        pending = officer.get(f"/admin/reservations/{made['id']}").text
        real_hub.run_jobs()  # the hub programs the doors
        programmed = officer.get(f"/admin/reservations/{made['id']}").text

    assert 'id="door-states"' in pending and "Venter på programmering" in pending
    for door in ("dor_a", "dor_b"):
        assert re.search(rf'data-door="{door}"><td>{door}</td><td>Programmert', programmed)
