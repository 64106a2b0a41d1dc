"""Unlock schedules: the controller opens a door for an event's windows and locks it at
their ends by itself, with `unlocked` / `locked` events by ref."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx

from tests.locks.conftest import T0, Locks, window, z

START = T0 + timedelta(hours=1)
END = T0 + timedelta(hours=3)


def put_unlock(
    locks: Locks, ref: str, windows: list[dict[str, str]], version: int = 1
) -> httpx.Response:
    response: httpx.Response = locks.client.put(
        f"/locks/v1/doors/{locks.door}/credentials/{ref}",
        json={"type": "unlock", "windows": windows, "version": version},
        headers=locks.auth,
    )
    return response


def revoke(locks: Locks, ref: str, version: int) -> None:
    response = locks.client.delete(
        f"/locks/v1/doors/{locks.door}/credentials/{ref}",
        params={"version": str(version)},
        headers=locks.auth,
    )
    assert response.status_code == 200, response.text


def at(locks: Locks, moment: datetime) -> dict[str, Any]:
    """Moves the controller's clock to `moment`, lets its worker run, returns the door."""
    locks.clock.set(moment)
    locks.ctx.worker.run_pending()
    return locks.door_state()


def schedule_events(locks: Locks) -> list[tuple[str, str | None]]:
    return [
        (event["kind"], event["ref"])
        for event in locks.events()
        if event["kind"] in ("unlocked", "locked")
    ]


def test_unlock_schedule__event_window__door_opens_at_start_and_locks_itself_at_end(
    locks: Locks,
) -> None:
    assert put_unlock(locks, "rsv_event", [window(START, END)]).status_code == 200
    before = at(locks, START - timedelta(minutes=1))
    assert (before["locked"], before["unlocked_until"]) == (True, None)

    during = at(locks, START)
    assert (during["locked"], during["unlocked_until"]) == (False, z(END))
    assert schedule_events(locks) == [("unlocked", "rsv_event")]

    after = at(locks, END)
    assert (after["locked"], after["unlocked_until"]) == (True, None)
    assert schedule_events(locks) == [("unlocked", "rsv_event"), ("locked", "rsv_event")]


def test_unlock_schedule__worker_late__door_state_still_follows_the_clock(locks: Locks) -> None:
    assert put_unlock(locks, "rsv_event", [window(START, END)]).status_code == 200
    locks.clock.set(START + timedelta(minutes=10))
    assert locks.door_state()["locked"] is False
    locks.clock.set(END)
    assert locks.door_state()["locked"] is True


def test_unlock_schedule__series__opens_and_locks_for_each_window(locks: Locks) -> None:
    week = timedelta(days=7)
    windows = [window(START, END), window(START + week, END + week)]
    assert put_unlock(locks, "rsv_club", windows).status_code == 200
    states = [
        at(locks, moment)["locked"]
        for moment in (START, END, START + timedelta(days=3), START + week, END + week)
    ]
    assert states == [False, True, True, False, True]
    assert [kind for kind, _ in schedule_events(locks)] == [
        "unlocked",
        "locked",
        "unlocked",
        "locked",
    ]


def test_unlock_schedule__revoked_during_the_window__locks_at_once(locks: Locks) -> None:
    assert put_unlock(locks, "rsv_event", [window(START, END)], version=1).status_code == 200
    assert at(locks, START + timedelta(minutes=5))["locked"] is False
    revoke(locks, "rsv_event", 2)
    assert locks.door_state()["locked"] is True
    locks.ctx.worker.run_pending()
    assert schedule_events(locks) == [("unlocked", "rsv_event"), ("locked", "rsv_event")]


def test_unlock_schedule__moved__follows_the_new_window_and_ignores_a_late_old_one(
    locks: Locks,
) -> None:
    later = (START + timedelta(hours=5), END + timedelta(hours=5))
    assert put_unlock(locks, "rsv_event", [window(START, END)], version=1).status_code == 200
    assert put_unlock(locks, "rsv_event", [window(*later)], version=2).status_code == 200
    assert put_unlock(locks, "rsv_event", [window(START, END)], version=1).status_code == 200
    assert at(locks, START)["locked"] is True
    assert at(locks, later[0])["unlocked_until"] == z(later[1])


def test_unlock_schedule__equal_version_revoke_and_put__revoke_wins(locks: Locks) -> None:
    revoke(locks, "rsv_event", 3)
    assert put_unlock(locks, "rsv_event", [window(START, END)], version=3).status_code == 200
    assert at(locks, START)["locked"] is True
    assert schedule_events(locks) == []


def test_unlock_schedule__with_a_code__is_422_naming_code_and_changes_nothing(
    locks: Locks,
) -> None:
    response = locks.client.put(
        f"/locks/v1/doors/{locks.door}/credentials/rsv_event",
        json={"type": "unlock", "code": "482915", "windows": [window(START, END)]},
        headers=locks.auth,
    )
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "code"
    missing = locks.client.put(
        f"/locks/v1/doors/{locks.door}/credentials/rsv_pin",
        json={"type": "pin", "windows": [window(START, END)]},
        headers=locks.auth,
    )
    assert missing.status_code == 422
    assert missing.json()["error"]["field"] == "code"
    assert at(locks, START)["locked"] is True
    live = locks.client.get(
        f"/locks/v1/doors/{locks.door}/credentials", params={"live": "true"}, headers=locks.auth
    )
    assert live.json() == []


def test_unlock_schedule__pulse_within_the_window__never_shortens_it(locks: Locks) -> None:
    assert put_unlock(locks, "rsv_event", [window(START, END)]).status_code == 200
    at(locks, START)
    response = locks.client.post(
        f"/locks/v1/doors/{locks.door}/pulse", json={"seconds": 5}, headers=locks.auth
    )
    assert response.status_code == 200, response.text
    assert response.json()["unlocked_until"] == z(END)
