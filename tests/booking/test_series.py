"""Series against the real hub on loopback: 40 Tuesdays across both DST changes, one code."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hallkey.booking import issue_api_token
from hallkey.booking.models import Reservation
from hallkey.booking.series_models import Series
from tests.booking.conftest import BookingFactory, reservation_body
from tests.booking.hub_proxy import World, start_real_hub
from tests.booking.test_rules_api import setup_headers
from tests.conftest import DatabaseUrlFactory

OSLO = ZoneInfo("Europe/Oslo")
FIRST = date(2026, 9, 1)  # a Tuesday; the season runs to 2027-06-01 (40 Tuesdays)
LAST = date(2027, 6, 1)


@pytest.fixture
def world(
    make_booking: BookingFactory, database_url: DatabaseUrlFactory, tmp_path: Path
) -> Iterator[World]:
    """A booking context whose tenants use the real hub on loopback (started)."""
    with start_real_hub(make_booking, database_url, tmp_path) as (booking, real_hub):
        yield World(booking, real_hub)


def series_body(resource_id: str, **extra: Any) -> dict[str, Any]:
    """Returns the body of the Tuesdays 18:00-20:00 season, with `extra` fields replaced."""
    body: dict[str, Any] = {
        "resource_id": resource_id,
        "weekdays": [2],
        "start_time": "18:00",
        "end_time": "20:00",
        "from_date": FIRST.isoformat(),
        "to_date": LAST.isoformat(),
        "customer": {"name": "Kari Nordmann", "phone": "+4741234567", "email": "kari@example.no"},
        "on_conflict": "fail",
    }
    body.update(extra)
    return body


def create(world: World, **extra: Any) -> dict[str, Any]:
    b = world.booking
    body = series_body(extra.pop("resource_id", b.resource_id), **extra)
    response = b.client.post("/api/v1/series", json=body, headers=b.headers())
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


def get(world: World, series_id: str) -> dict[str, Any]:
    b = world.booking
    response = b.client.get(f"/api/v1/series/{series_id}", headers=b.headers())
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def settle(world: World) -> None:
    """Runs the booking's jobs, then the hub's (programming the doors)."""
    world.booking.ctx.worker.run_pending()
    world.real_hub.run_jobs()


def local(day: date, hour: int, minute: int = 0) -> str:
    """Returns the UTC RFC 3339 text of a wall time in Oslo."""
    moment = datetime(day.year, day.month, day.day, hour, minute, tzinfo=OSLO)
    return moment.astimezone(ZoneInfo("UTC")).isoformat()


def tuesdays() -> list[date]:
    return [FIRST + timedelta(weeks=n) for n in range(40)]


def test_series__40_tuesdays_across_dst__one_code_opens_each_tuesday_only(world: World) -> None:
    made = create(world)
    assert made["status"] == "confirmed"
    assert made["conflicts"] == []
    assert len(made["occurrences"]) == 40
    for occurrence, day in zip(made["occurrences"], tuesdays(), strict=True):
        start = datetime.fromisoformat(occurrence["start"]).astimezone(OSLO)
        end = datetime.fromisoformat(occurrence["end"]).astimezone(OSLO)
        assert (start.date(), start.hour, start.minute) == (day, 18, 0)
        assert (end.hour, end.minute) == (20, 0)
    # Both DST changes lie inside: 18:00 local is 16:00Z in summer time, 17:00Z in winter.
    assert made["occurrences"][0]["start"] == "2026-09-01T16:00:00Z"
    assert made["occurrences"][8]["start"] == "2026-10-27T17:00:00Z"
    assert made["occurrences"][-1]["start"] == "2027-06-01T16:00:00Z"

    settle(world)
    assert world.hub.names() == ["GrantAccess"]
    body = world.hub.calls[0][1]
    assert body["ref"] == made["ref"]
    assert len(body["windows"]) == 40
    assert body["windows"][0] == {
        "valid_from": "2026-09-01T15:45:00Z",
        "valid_to": "2026-09-01T18:15:00Z",
    }
    assert "valid_from" not in body
    assert "Kari" not in str(body)

    access = get(world, made["id"])["access"]
    assert access["state"] == "granted"
    code = access["code"]
    for day in tuesdays():
        decision = world.try_code("dor_a", code, local(day, 18, 30))
        assert decision.granted, day
        assert decision.ref == made["ref"]
        assert world.try_code("dor_b", code, local(day, 17, 50)).granted
        assert world.try_code("dor_a", code, local(day, 20, 20)).reason == "outside_window"
        wednesday = day + timedelta(days=1)
        assert world.try_code("dor_a", code, local(wednesday, 18, 0)).reason == "outside_window"

    occurrence = world.get(made["occurrences"][3]["id"])
    assert occurrence["series_id"] == made["id"]
    assert occurrence["ref"] != made["ref"]
    assert occurrence["access"] == access


def test_series__one_tuesday_cancelled__closes_that_window_only(world: World) -> None:
    made = create(world)
    settle(world)
    code = get(world, made["id"])["access"]["code"]
    fifth = made["occurrences"][4]
    b = world.booking
    response = b.client.post(f"/api/v1/reservations/{fifth['id']}/cancel", headers=b.headers())
    assert response.status_code == 200, response.text
    assert response.json()["access"]["state"] == "pending"
    settle(world)
    # As for a reservation: the repeated GrantAccess meets other content (409), then moves.
    assert world.hub.names() == ["GrantAccess", "GrantAccess", "UpdateAccess"]
    update = world.hub.calls[-1][1]
    assert len(update["windows"]) == 39
    assert update["revision"] == 2
    series = get(world, made["id"])
    assert series["access"]["state"] == "granted"
    assert series["access"]["code"] == code  # the same key, one window fewer
    assert [o["status"] for o in series["occurrences"]].count("cancelled") == 1

    day = tuesdays()[4]
    assert world.try_code("dor_a", code, local(day, 18, 30)).reason == "outside_window"
    assert world.try_code("dor_a", code, local(tuesdays()[3], 18, 30)).granted
    assert world.try_code("dor_a", code, local(tuesdays()[5], 18, 30)).granted


def test_series__one_tuesday_moved__moves_its_window(world: World) -> None:
    made = create(world)
    settle(world)
    code = get(world, made["id"])["access"]["code"]
    day = tuesdays()[2]
    b = world.booking
    response = b.client.patch(
        f"/api/v1/reservations/{made['occurrences'][2]['id']}",
        json={"start": local(day, 19, 0), "end": local(day, 21, 0)},
        headers=b.headers(),
    )
    assert response.status_code == 200, response.text
    settle(world)
    assert world.hub.names() == ["GrantAccess", "GrantAccess", "UpdateAccess"]
    assert world.try_code("dor_a", code, local(day, 21, 10)).granted
    assert world.try_code("dor_a", code, local(day, 18, 0)).reason == "outside_window"


def test_series__cancelled_from_a_date__closes_the_rest_then_all(world: World) -> None:
    made = create(world)
    settle(world)
    code = get(world, made["id"])["access"]["code"]
    b = world.booking
    response = b.client.post(
        f"/api/v1/series/{made['id']}/cancel", json={"from": "2027-01-01"}, headers=b.headers()
    )
    assert response.status_code == 200, response.text
    statuses = [o["status"] for o in response.json()["occurrences"]]
    assert statuses == ["confirmed"] * 18 + ["cancelled"] * 22
    assert response.json()["status"] == "confirmed"
    settle(world)
    assert world.hub.names() == ["GrantAccess", "GrantAccess", "UpdateAccess"]
    assert len(world.hub.calls[-1][1]["windows"]) == 18
    assert world.try_code("dor_a", code, local(tuesdays()[17], 18, 30)).granted
    assert world.try_code("dor_a", code, local(tuesdays()[18], 18, 30)).reason == "outside_window"

    response = b.client.post(f"/api/v1/series/{made['id']}/cancel", headers=b.headers())
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    settle(world)
    assert world.hub.names()[-1] == "RevokeAccess"
    assert world.try_code("dor_a", code, local(tuesdays()[0], 18, 30)).reason == "revoked"
    assert get(world, made["id"])["access"] == {"state": "revoked", "credential": "pin"}
    # A repeat changes nothing.
    again = b.client.post(f"/api/v1/series/{made['id']}/cancel", headers=b.headers())
    assert again.status_code == 200
    assert again.json()["version"] == response.json()["version"]


def test_series__on_conflict_fail__409_lists_each_and_stores_nothing(world: World) -> None:
    b = world.booking
    taken = tuesdays()[6]
    single = reservation_body(b.resource_id, local(taken, 19, 0), local(taken, 21, 0))
    assert (
        b.client.post("/api/v1/reservations", json=single, headers=b.headers()).status_code == 201
    )
    before = (b.count(Reservation), b.count(Series))
    response = b.client.post("/api/v1/series", json=series_body(b.resource_id), headers=b.headers())
    assert response.status_code == 409, response.text
    error = response.json()["error"]
    assert error["code"] == "series_conflict"
    assert error["conflicts"] == [
        {"start": local(taken, 18, 0).replace("+00:00", "Z"),
         "end": local(taken, 20, 0).replace("+00:00", "Z"), "reason": "time_taken"}
    ]  # fmt: skip
    assert (b.count(Reservation), b.count(Series)) == before
    settle(world)
    assert world.hub.names() == ["GrantAccess"]  # the single booking's only


def test_series__on_conflict_skip__books_the_rest_and_lists_the_conflict(world: World) -> None:
    b = world.booking
    taken = tuesdays()[6]
    single = reservation_body(b.resource_id, local(taken, 19, 0), local(taken, 21, 0))
    assert (
        b.client.post("/api/v1/reservations", json=single, headers=b.headers()).status_code == 201
    )
    made = create(world, on_conflict="skip")
    assert len(made["occurrences"]) == 39
    assert [c["reason"] for c in made["conflicts"]] == ["time_taken"]
    assert made["conflicts"][0]["start"] == local(taken, 18, 0).replace("+00:00", "Z")
    settle(world)
    grants = [body for name, body, _ in world.hub.calls if name == "GrantAccess"]
    assert len(grants[-1]["windows"]) == 39


def test_series__hub_down_during_creation__granted_once_it_is_back(world: World) -> None:
    world.server.stop()
    made = create(world)
    settle(world)
    assert get(world, made["id"])["access"] == {"state": "pending", "credential": "pin"}
    world.server.start()
    world.booking.clock.advance(timedelta(seconds=3))
    settle(world)
    access = get(world, made["id"])["access"]
    assert access["state"] == "granted"
    assert world.hub.names() == ["GrantAccess"]
    settle(world)
    assert world.hub.names() == ["GrantAccess"]
    assert world.try_code("dor_a", access["code"], local(tuesdays()[20], 18, 30)).granted


def test_series__approval__requested_as_a_whole_then_approved_or_denied(world: World) -> None:
    b = world.booking
    made = create(world, resource_id=b.approval_resource_id, weekdays=[4], to_date="2026-10-01")
    assert made["status"] == "requested"
    assert {o["status"] for o in made["occurrences"]} == {"requested"}
    settle(world)
    assert world.hub.names() == []
    # One occurrence alone is not decided: the series is.
    alone = b.client.post(
        f"/api/v1/reservations/{made['occurrences'][0]['id']}/approve", headers=b.headers()
    )
    assert alone.status_code == 409
    approved = b.client.post(f"/api/v1/series/{made['id']}/approve", headers=b.headers())
    assert approved.status_code == 200, approved.text
    assert approved.json()["decision"]["by"].startswith("token:")
    assert {o["status"] for o in approved.json()["occurrences"]} == {"confirmed"}
    settle(world)
    assert world.hub.names() == ["GrantAccess"]
    assert len(world.hub.calls[0][1]["windows"]) == len(made["occurrences"])

    other = create(world, resource_id=b.approval_resource_id, weekdays=[5], to_date="2026-10-01")
    denied = b.client.post(
        f"/api/v1/series/{other['id']}/deny", json={"reason": "Full"}, headers=b.headers()
    )
    assert denied.status_code == 200, denied.text
    assert denied.json()["status"] == "denied"
    assert {o["status"] for o in denied.json()["occurrences"]} == {"denied"}
    assert denied.json()["decision"]["reason"] == "Full"
    settle(world)
    assert world.hub.names() == ["GrantAccess"]
    assert get(world, other["id"])["access"]["state"] == "revoked"


def test_series__open_the_door_of_an_occurrence__pulses_with_the_series_ref(world: World) -> None:
    made = create(world, from_date="2026-05-05", to_date="2026-06-30")
    settle(world)
    b = world.booking
    b.clock.set(datetime(2026, 5, 5, 16, 30, tzinfo=ZoneInfo("UTC")))  # 18:30 in Oslo
    with b.ctx.database.transaction() as session:
        token = issue_api_token(
            b.ctx, session, tenant_id=b.tenant_id, name="caretaker", scopes=["doors:open"]
        )
    opened = b.client.post(
        f"/api/v1/reservations/{made['occurrences'][0]['id']}/open",
        json={"door": "dor_a"},
        headers=b.headers(token),
    )
    assert opened.status_code == 200, opened.text
    assert opened.json()["ref"] == made["ref"]
    assert world.hub.calls[-1][1]["ref"] == made["ref"]


def test_series__resource_access_minutes_changed__one_push_widens_every_window(
    world: World,
) -> None:
    made = create(world)
    settle(world)
    b = world.booking
    changed = b.client.patch(
        f"/api/v1/resources/{b.resource_id}",
        json={"access_before_minutes": 30},
        headers=setup_headers(b),
    )
    assert changed.status_code == 200, changed.text
    settle(world)
    assert world.hub.names() == ["GrantAccess", "GrantAccess", "UpdateAccess"]
    windows = world.hub.calls[-1][1]["windows"]
    assert len(windows) == 40
    assert windows[0]["valid_from"] == "2026-09-01T15:30:00Z"
    assert get(world, made["id"])["access"]["state"] == "granted"
