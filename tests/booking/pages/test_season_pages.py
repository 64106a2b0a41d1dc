"""The staff pages of series and application rounds through the real HTTP app: listing and
showing a series, cancelling it from a date, denying it, rounds' overview and allocations;
roles, venues, tenants and CSRF as the API's scopes say."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from hallkey.booking.models import Reservation
from hallkey.booking.rounds_models import Round, RoundAllocation, RoundWish
from hallkey.booking.series_models import Series
from hallkey.booking.series_store import SYNC_SERIES_ACCESS
from tests.booking.pages.desk_world import PASSWORD, Desk
from tests.booking.rounds_world import (
    ORG_NUMBERS,
    application_body,
    apply,
    close_round,
    open_round,
    wish,
)
from tests.booking.test_series import series_body

# T0 is Monday 2026-05-04 06:00Z; the series runs five Tuesdays of September 2026.
TUESDAYS = ["2026-09-01", "2026-09-08", "2026-09-15", "2026-09-22", "2026-09-29"]


def make_series(desk: Desk, resource_id: str | None = None) -> dict[str, Any]:
    body = series_body(resource_id or desk.booking.resource_id, to_date=TUESDAYS[-1])
    response = desk.booking.client.post("/api/v1/series", json=body, headers=desk.booking.headers())
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


def statuses(desk: Desk, series_id: str) -> tuple[str, list[str]]:
    with desk.booking.ctx.database.read() as session:
        row = session.get(Series, series_id)
        assert row is not None
        found = session.scalars(
            select(Reservation.status)
            .where(Reservation.series_id == series_id)
            .order_by(Reservation.start_at)
        )
        return row.status, list(found)


def sync_jobs(desk: Desk) -> int:
    with desk.booking.ctx.database.read() as session:
        return desk.booking.ctx.jobs.pending_count(session, kind=SYNC_SERIES_ACCESS)


@pytest.mark.parametrize(
    "path", ["/admin/series", "/admin/series/ser_x", "/admin/rounds", "/admin/rounds/rnd_x"]
)
def test_signed_out__is_sent_to_login_and_back(desk: Desk, path: str) -> None:
    response = desk.browser().get(path)
    assert response.status_code == 303
    assert response.headers["location"] == f"/login?next={path}"


def test_series__listed_and_shown_with_occurrences__nb_and_en(desk: Desk) -> None:
    made = make_series(desk)
    admin = desk.signed_in("admin")
    listed = admin.get("/admin/series")
    assert listed.status_code == 200
    assert f'data-series="{made["id"]}"' in listed.text
    assert "Tirsdag 18:00\u201320:00" in listed.text and "Kari Nordmann" in listed.text
    assert 'href="/admin/series"' in listed.text and 'href="/admin/rounds"' in listed.text
    assert f'data-series="{made["id"]}"' not in admin.get("/admin/series?status=denied").text
    assert admin.get("/admin/series?status=nonsense").status_code == 422

    page = admin.get(f"/admin/series/{made['id']}")
    assert page.status_code == 200
    assert made["ref"] in page.text and 'lang="nb"' in page.text
    for occurrence in made["occurrences"]:
        assert f'href="/admin/reservations/{occurrence["id"]}"' in page.text
    assert page.text.count("data-reservation=") == len(TUESDAYS)
    assert "Avbestill serien" in page.text  # the admin may cancel
    english = admin.get(f"/admin/series/{made['id']}?lang=en")
    assert "Occurrences" in english.text and "Cancel the series" in english.text


def test_series__cancel_from_a_date__cancels_those_occurrences_and_queues_the_sync(
    desk: Desk,
) -> None:
    made = make_series(desk)
    before = sync_jobs(desk)
    officer = desk.signed_in("officer")
    officer.get(f"/admin/series/{made['id']}")
    bad = officer.post(f"/admin/series/{made['id']}/cancel", {"from": "15.09.2026"})
    assert bad.status_code == 422 and 'aria-invalid="true"' in bad.text
    assert statuses(desk, made["id"]) == ("confirmed", ["confirmed"] * 5)

    done = officer.post(f"/admin/series/{made['id']}/cancel", {"from": TUESDAYS[2]})
    assert done.status_code == 303
    assert done.headers["location"] == f"/admin/series/{made['id']}?done=cancelled"
    assert statuses(desk, made["id"]) == (
        "confirmed",
        ["confirmed", "confirmed", "cancelled", "cancelled", "cancelled"],
    )
    assert sync_jobs(desk) > before
    shown = officer.get(done.headers["location"])
    assert "Avbestilt:" in shown.text and made["ref"] in shown.text


def test_series__deny_without_reason__422_and_nothing_changes__with_one__denied(
    desk: Desk,
) -> None:
    made = make_series(desk, desk.booking.approval_resource_id)
    assert made["status"] == "requested"
    officer = desk.signed_in("officer")
    assert "Godkjenn" in officer.get(f"/admin/series/{made['id']}").text
    refused = officer.post(f"/admin/series/{made['id']}/deny", {"reason": "  "})
    assert refused.status_code == 422
    assert 'id="reason-error"' in refused.text
    assert statuses(desk, made["id"]) == ("requested", ["requested"] * 5)

    denied = officer.post(f"/admin/series/{made['id']}/deny", {"reason": "Hallen pusses opp"})
    assert denied.status_code == 303
    assert statuses(desk, made["id"]) == ("denied", ["denied"] * 5)
    assert "Hallen pusses opp" in officer.get(f"/admin/series/{made['id']}").text


def test_series__caretakers_see_their_venues_only_and_may_not_decide(desk: Desk) -> None:
    made = make_series(desk)  # in venue A
    other = desk.signed_in("caretaker-b")
    assert other.get(f"/admin/series/{made['id']}").status_code == 404
    assert f'data-series="{made["id"]}"' not in other.get("/admin/series").text
    assert other.get("/admin/rounds").status_code == 403
    own = desk.signed_in("caretaker-a")
    assert f'data-series="{made["id"]}"' in own.get("/admin/series").text
    page = own.get(f"/admin/series/{made['id']}")
    assert page.status_code == 200 and "Avbestill serien" not in page.text
    assert own.post(f"/admin/series/{made['id']}/cancel", {}).status_code == 403
    desk.add_other_admin()
    stranger = desk.browser("http://testserver")
    stranger.get("/login", tenant="annenby")
    signed = stranger.post(
        "/login/staff?tenant=annenby", {"username": "other", "password": PASSWORD}
    )
    assert signed.status_code == 303
    assert stranger.get(f"/admin/series/{made['id']}?tenant=annenby").status_code == 404
    assert statuses(desk, made["id"])[1] == ["confirmed"] * 5


def test_series_and_rounds__a_form_without_csrf__403_and_nothing_changes(desk: Desk) -> None:
    made = make_series(desk)
    round_ = open_round(desk.booking, desk.booking.headers())
    admin = desk.signed_in("admin")
    assert admin.post(f"/admin/series/{made['id']}/cancel", {}, csrf=False).status_code == 403
    assert statuses(desk, made["id"])[0] == "confirmed"
    refused = admin.post(f"/admin/rounds/{round_['id']}/publish", {}, csrf=False)
    assert refused.status_code == 403
    assert admin.post("/admin/rounds", {"name": "X"}, csrf=False).status_code == 403


def test_rounds__open_one_through_the_form__bad_form_422_keeps_values(desk: Desk) -> None:
    officer = desk.signed_in("officer")
    page = officer.get("/admin/rounds")
    assert page.status_code == 200 and "Ny søknadsrunde" in page.text
    form = {
        "name": "Vårsesongen 2027",
        "period_from": "2027-01-04",
        "period_to": "2027-06-18",
        "deadline": "2026-11-01T12:00",
        "resource_ids": desk.booking.resource_id,
    }
    bad = officer.post("/admin/rounds", {**form, "period_to": "2026-12-01"})
    assert bad.status_code == 422
    assert 'id="period-to-error"' in bad.text and "Vårsesongen 2027" in bad.text
    assert desk.booking.count(Round) == 0
    made = officer.post("/admin/rounds", form)
    assert made.status_code == 303
    round_id = made.headers["location"].split("/")[-1].split("?")[0]
    listed = desk.booking.client.get("/api/v1/rounds", headers=desk.booking.headers())
    (found,) = [r for r in listed.json() if r["id"] == round_id]
    assert found["resource_ids"] == [desk.booking.resource_id]
    assert found["deadline"].startswith("2026-11-01T11:00")  # noon in Oslo, winter time


def test_round__page_shows_a_clash__allocating_through_it_creates_the_allocation(
    desk: Desk,
) -> None:
    booking, hall = desk.booking, desk.booking.resource_id
    round_ = open_round(booking, booking.headers())
    il = apply(
        booking,
        round_["id"],
        application_body("Testby IL", ORG_NUMBERS[0], [wish(hall, 2, "18:00", "19:30")]),
    )
    turn = apply(
        booking,
        round_["id"],
        application_body("Testby Turn", ORG_NUMBERS[1], [wish(hall, 2, "18:30", "20:00")]),
    )
    close_round(booking, round_["id"])
    wish_il, wish_turn = il["wishes"][0]["id"], turn["wishes"][0]["id"]
    officer = desk.signed_in("officer")
    page = officer.get(f"/admin/rounds/{round_['id']}")
    assert page.status_code == 200
    assert "Kolliderer med" in page.text and "Testby Turn" in page.text
    assert f'data-wish="{wish_il}"' in page.text and "Tildel som ønsket" in page.text

    given = officer.post(f"/admin/rounds/{round_['id']}/allocate", {"wish_id": wish_il})
    assert given.status_code == 303
    with booking.ctx.database.read() as session:
        (allocation,) = session.scalars(select(RoundAllocation)).all()
        assert (allocation.wish_id, allocation.start_time) == (wish_il, "18:00")
    # Turn's wish on top of it is refused, and nothing more is allocated.
    refused = officer.post(f"/admin/rounds/{round_['id']}/allocate", {"wish_id": wish_turn})
    assert refused.status_code == 409 and f'id="wish-error-{wish_turn}"' in refused.text
    declined = officer.post(f"/admin/rounds/{round_['id']}/wishes/{wish_turn}/decline", {})
    assert declined.status_code == 422
    with booking.ctx.database.read() as session:
        assert len(session.scalars(select(RoundAllocation)).all()) == 1
        turned = session.get(RoundWish, wish_turn)
        assert turned is not None and turned.status == "wished"
    shown = officer.get(f"/admin/rounds/{round_['id']}?lang=en")
    assert "Statistics" in shown.text and "Hours allocated" in shown.text

    # Publishing waits for every wish to be decided; then the allocation becomes a series.
    early = officer.post(f"/admin/rounds/{round_['id']}/publish", {})
    assert early.status_code == 409 and 'id="publish-error"' in early.text
    reason = "Hallen er tildelt Testby IL"
    declined = officer.post(
        f"/admin/rounds/{round_['id']}/wishes/{wish_turn}/decline", {"reason": reason}
    )
    assert declined.status_code == 303
    assert reason in officer.get(declined.headers["location"]).text
    published = officer.post(f"/admin/rounds/{round_['id']}/publish", {})
    assert published.status_code == 303
    with booking.ctx.database.read() as session:
        (allocation,) = session.scalars(select(RoundAllocation)).all()
        assert allocation.series_id is not None
        series_id = allocation.series_id
    assert f'data-series="{series_id}"' in officer.get("/admin/series?status=confirmed").text
    again = officer.get(f"/admin/rounds/{round_['id']}?lang=nb")
    assert "Publisert" in again.text and "Tildel som ønsket" not in again.text
