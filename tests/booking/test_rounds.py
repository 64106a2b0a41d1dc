"""An application round from opening to the published season, through the HTTP API with the
real hub on loopback: three clubs apply (two clash on Tuesday 18:00 in the main hall), the
deadline passes, the overview shows the clash and a booking already in the period, the case
officer allocates, moves and declines, publishes (series with one grant each, one e-mail per
club, idempotent), and the statistics add up."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from hallkey.booking.models import Reservation
from hallkey.booking.rounds_emails import delivery_id
from tests.booking.conftest import Booking, BookingFactory, reservation_body
from tests.booking.hub_proxy import RealHub, start_real_hub
from tests.booking.rounds_world import (
    DEADLINE,
    ORG_NUMBERS,
    application_body,
    apply,
    open_round,
    wish,
)
from tests.conftest import DatabaseUrlFactory

TUESDAYS = 18  # 18 August to 15 December 2026
TAKEN = "2026-09-08"  # a Tuesday with a booking 18:30-19:30 before the round


@pytest.fixture
def with_hub(
    make_booking: BookingFactory, database_url: DatabaseUrlFactory, tmp_path: Path
) -> Iterator[tuple[Booking, RealHub]]:
    with start_real_hub(make_booking, database_url, tmp_path) as pair:
        yield pair


def _outbox(booking: Booking) -> Path:
    return booking.ctx.settings.outbox_dir / "booking"


def _email(booking: Booking, application_id: str, kind: str) -> str:
    return (_outbox(booking) / f"{delivery_id(application_id, kind)}-email.txt").read_text()


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def test_round__three_clubs_apply_clash_are_allocated_and_published(
    with_hub: tuple[Booking, RealHub],
) -> None:
    booking, hub = with_hub
    client, staff = booking.client, booking.headers()
    hall = booking.resource_id
    taken = _ok(
        client.post(
            "/api/v1/reservations",
            json=reservation_body(hall, f"{TAKEN}T16:30:00Z", f"{TAKEN}T17:30:00Z"),
            headers=staff,
        ),
        201,
    )
    made = open_round(booking, staff)
    round_id = made["id"]
    assert made["status"] == "open" and made["applications"] == 0
    before = booking.count(Reservation)

    # Three clubs apply, without a token; IL and Turn both want Tuesday 18:00 in the hall.
    il = apply(
        booking,
        round_id,
        application_body("Testby IL", ORG_NUMBERS[0], [wish(hall, 2, "18:00", "19:30")]),
    )
    turn = apply(
        booking,
        round_id,
        application_body(
            "Testby Turn",
            ORG_NUMBERS[1],
            [wish(hall, 2, "18:30", "20:00", age_group="13-19", participants=30)],
            locale="en",
        ),
    )
    chess = apply(
        booking,
        round_id,
        application_body(
            "Testby Sjakk", ORG_NUMBERS[2], [wish(hall, 3, "17:00", "18:00", age_group="26+")]
        ),
    )
    assert booking.count(Reservation) == before  # applications hold no time
    booking.ctx.worker.run_pending()
    receipt = _email(booking, il["id"], "receipt")
    assert receipt.startswith("To: post@testbyil.example.no\nSubject: Søknaden er mottatt")
    assert il["link"].split("://", 1)[1] in receipt  # the applicant's link, with its key
    own = client.get(il["link"].split("booking.testby.example", 1)[1])
    assert _ok(own)["id"] == il["id"]
    wish_il, wish_turn, wish_chess = (a["wishes"][0]["id"] for a in (il, turn, chess))

    early = client.post(
        f"/api/v1/rounds/{round_id}/allocations", json={"wish_id": wish_il}, headers=staff
    )
    assert (early.status_code, early.json()["error"]["code"]) == (409, "round_open")

    # The deadline passes: no more applications.
    booking.clock.set(booking.clock.now().replace(month=6, day=1, hour=10))
    assert booking.clock.now().isoformat().startswith(DEADLINE[:16])
    late = client.post(
        f"/api/v1/rounds/{round_id}/applications?tenant=testby",
        json=application_body("Sent IL", ORG_NUMBERS[3], [wish(hall, 4, "18:00", "19:00")]),
    )
    assert (late.status_code, late.json()["error"]["code"]) == (409, "round_closed")

    overview = _ok(client.get(f"/api/v1/rounds/{round_id}/overview", headers=staff))
    assert overview["round"]["status"] == "closed"
    (resource,) = overview["resources"]
    days = {day["weekday"]: day for day in resource["weekdays"]}
    assert sorted(days) == [2, 3]
    tuesday = {w["id"]: w for w in days[2]["wishes"]}
    assert tuesday[wish_il]["clashes_with"] == [wish_turn]
    assert tuesday[wish_turn]["clashes_with"] == [wish_il]
    assert [c["reservation_id"] for c in tuesday[wish_il]["reservation_clashes"]] == [taken["id"]]
    assert [c["reservation_id"] for c in tuesday[wish_turn]["reservation_clashes"]] == [taken["id"]]
    assert days[3]["wishes"][0]["clashes_with"] == []
    assert days[3]["wishes"][0]["reservation_clashes"] == []

    # IL gets its wish; Turn's wish on top of it is refused, naming IL's allocation; Turn gets
    # Tuesday 19:30-21:00 instead; chess is declined with a reason.
    given = _ok(
        client.post(
            f"/api/v1/rounds/{round_id}/allocations", json={"wish_id": wish_il}, headers=staff
        ),
        201,
    )
    assert (given["weekday"], given["start_time"], given["end_time"]) == (2, "18:00", "19:30")
    refused = client.post(
        f"/api/v1/rounds/{round_id}/allocations", json={"wish_id": wish_turn}, headers=staff
    )
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "allocation_overlaps"
    assert given["id"] in refused.json()["error"]["message"]
    moved = _ok(
        client.post(
            f"/api/v1/rounds/{round_id}/allocations",
            json={"wish_id": wish_turn, "start_time": "19:30", "end_time": "21:00"},
            headers=staff,
        ),
        201,
    )
    reason = "Salen brukes til eksamen onsdager i høst"
    declined = _ok(
        client.post(
            f"/api/v1/rounds/{round_id}/wishes/{wish_chess}/decline",
            json={"reason": reason},
            headers=staff,
        )
    )
    assert (declined["status"], declined["decline_reason"]) == ("declined", reason)

    planned = _ok(client.get(f"/api/v1/rounds/{round_id}/statistics", headers=staff))
    assert planned["measured"] == "planned"
    by_org = {o["organisation"]: o for o in planned["organisations"]}
    assert by_org["Testby IL"]["allocated_minutes"] == 90 * TUESDAYS
    assert by_org["Testby Turn"]["allocated_minutes"] == 90 * TUESDAYS
    assert by_org["Testby Sjakk"]["allocated_minutes"] == 0
    assert by_org["Testby Sjakk"]["wished_minutes"] == 60 * 18  # 18 Wednesdays too
    assert planned["total"]["allocated_hours"] == 2 * 1.5 * TUESDAYS

    # Publish: a confirmed series for each allocation, the taken Tuesday skipped.
    published = _ok(client.post(f"/api/v1/rounds/{round_id}/publish", headers=staff))
    assert published["failed"] == []
    assert published["round"]["status"] == "published"
    assert published["emails_queued"] == 3
    series = {p["allocation_id"]: p for p in published["published"]}
    assert series[given["id"]]["skipped_dates"] == [TAKEN]
    assert series[moved["id"]]["skipped_dates"] == []
    again = _ok(client.post(f"/api/v1/rounds/{round_id}/publish", headers=staff))
    assert again["published"] == published["published"]  # the same series, none made twice
    assert again["emails_queued"] == 0
    with booking.ctx.database.read() as session:
        counted = session.scalar(
            select(func.count()).select_from(Reservation).where(Reservation.series_id.is_not(None))
        )
    assert counted == 2 * TUESDAYS - 1

    # Each series has one grant at the hub, whose windows are its occurrences.
    booking.ctx.worker.run_pending()
    for allocation in (given, moved):
        view = _ok(
            client.get(f"/api/v1/series/{series[allocation['id']]['series_id']}", headers=staff)
        )
        assert view["status"] == "confirmed"
        occurrences = view["occurrences"]
        assert len(occurrences) == TUESDAYS - (allocation is given)
        assert view["access"]["state"] == "granted"
        grant = hub.grant(view["ref"])
        assert grant["state"] == "active"
        assert len(grant["windows"]) == len(occurrences)
        assert sorted(d["id"] for d in grant["doors"]) == ["dor_a", "dor_b"]
        grants = [
            c for c in hub.proxy.calls if c[0] == "GrantAccess" and c[1]["ref"] == view["ref"]
        ]
        assert len(grants) == 1
        # 18:00 Oslo stays 18:00 across the end of summer time (25 October).
        first, last = occurrences[0]["start"], occurrences[-1]["start"]
        wall = allocation["start_time"].replace(":", "")
        assert first.endswith(f"T{int(wall[:2]) - 2:02d}:{wall[2:]}:00Z")
        assert last.endswith(f"T{int(wall[:2]) - 1:02d}:{wall[2:]}:00Z")

    # One result e-mail per club: what it got, what was declined and why.
    text_il = _email(booking, il["id"], "result")
    assert "Main hall, tirsdager 18:00\u201319:30" in text_il
    assert f"unntatt {TAKEN}" in text_il
    text_turn = _email(booking, turn["id"], "result")
    assert "Main hall, Tuesdays 19:30\u201321:00" in text_turn
    text_chess = _email(booking, chess["id"], "result")
    assert "Ikke tildelt:\n- Main hall, onsdager 17:00\u201318:00" in text_chess
    assert reason in text_chess
    assert len(list(_outbox(booking).glob("app_*_result-email.txt"))) == 3

    # Statistics count the occurrences the series hold now: one Tuesday less for IL.
    counted_stats = _ok(client.get(f"/api/v1/rounds/{round_id}/statistics", headers=staff))
    assert counted_stats["measured"] == "occurrences"
    by_org = {o["organisation"]: o for o in counted_stats["organisations"]}
    assert by_org["Testby IL"]["allocated_minutes"] == 90 * (TUESDAYS - 1)
    assert by_org["Testby Turn"]["allocated_minutes"] == 90 * TUESDAYS
    ages = {a["age_group"]: a for a in counted_stats["age_groups"]}
    assert ages["6-12"]["allocated_minutes"] == 90 * (TUESDAYS - 1)
    assert ages["13-19"]["allocated_minutes"] == 90 * TUESDAYS
    assert (ages["26+"]["wished_minutes"], ages["26+"]["allocated_minutes"]) == (60 * 18, 0)
    assert (ages["0-5"]["wished_minutes"], ages["0-5"]["allocated_minutes"]) == (0, 0)
    total = counted_stats["total"]
    assert total["allocated_minutes"] == sum(o["allocated_minutes"] for o in by_org.values())
    assert total["allocated_minutes"] == sum(a["allocated_minutes"] for a in ages.values())
    assert total["wished_minutes"] == sum(a["wished_minutes"] for a in ages.values())
