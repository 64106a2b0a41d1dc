"""A door's places (`locks.places`): a door far from full programs a code without counting its
codes, and the bound it keeps instead never lets a door take more than its limit, nor refuses
one it has room for — over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from hallkey.locks import repository
from hallkey.locks.models import Door
from tests.locks.conftest import DOOR, T0, Locks, window

HOUR = timedelta(hours=1)


def _limit(locks: Locks, most: int) -> None:
    with locks.ctx.database.transaction() as session:
        session.execute(update(Door).where(Door.id == DOOR).values(max_credentials=most))


def _bound(locks: Locks) -> int:
    with locks.ctx.database.read() as session:
        return int(session.scalar(select(Door.places_bound).where(Door.id == DOOR)) or 0)


def _put(locks: Locks, ref: str, code: str, end: datetime, version: int = 0) -> int:
    response = locks.client.put(
        f"/locks/v1/doors/{DOOR}/credentials/{ref}",
        json={
            "type": "pin",
            "code": code,
            "windows": [window(locks.clock.now(), end)],
            "version": version,
        },
        headers=locks.auth,
    )
    assert response.status_code in (200, 409), response.text
    if response.status_code == 409:
        assert response.json()["error"]["code"] == "no_space_on_door"
    return int(response.status_code)


def _revoke(locks: Locks, ref: str, version: int = 0) -> None:
    response = locks.client.delete(
        f"/locks/v1/doors/{DOOR}/credentials/{ref}",
        params={"version": version},
        headers=locks.auth,
    )
    assert response.status_code == 200, response.text


@pytest.fixture
def counts(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Records each exact count of a door's places (the slow path)."""
    made: list[int] = []
    exact = repository.count_active_credentials

    def counting(*args: Any, **kwargs: Any) -> int:
        found = exact(*args, **kwargs)
        made.append(found)
        return found

    monkeypatch.setattr(repository, "count_active_credentials", counting)
    return made


def test_door_far_from_full__programs_without_counting_its_codes(
    locks: Locks, counts: list[int]
) -> None:
    for n in range(5):
        assert _put(locks, f"rsv_{n}", f"40000{n}", T0 + 2 * HOUR) == 200
    _put(locks, "rsv_0", "400009", T0 + 3 * HOUR)  # a held ref moved: no new place

    assert counts == []
    assert _bound(locks) == 5


def test_places_of_ended_windows__are_free_again_once_the_door_is_counted(
    locks: Locks, counts: list[int]
) -> None:
    _limit(locks, 2)
    assert _put(locks, "rsv_a", "500001", T0 + HOUR) == 200
    assert _put(locks, "rsv_b", "500002", T0 + 3 * HOUR) == 200
    assert _put(locks, "rsv_c", "500003", T0 + 3 * HOUR) == 409  # counted: two places held
    assert counts == [2]

    locks.clock.set(T0 + 2 * HOUR)  # rsv_a's window has ended
    assert _put(locks, "rsv_c", "500003", T0 + 3 * HOUR) == 200
    assert counts == [2, 1]
    assert _bound(locks) == 2  # the exact count (1) and the new place
    assert _put(locks, "rsv_d", "500004", T0 + 3 * HOUR) == 409


def test_revoked_place__is_free_without_a_count(locks: Locks, counts: list[int]) -> None:
    _limit(locks, 2)
    _put(locks, "rsv_a", "600001", T0 + HOUR)
    _put(locks, "rsv_b", "600002", T0 + HOUR)
    _revoke(locks, "rsv_a")
    _revoke(locks, "rsv_a")  # again: it held no place any more

    assert _bound(locks) == 1
    assert _put(locks, "rsv_c", "600003", T0 + HOUR) == 200
    assert counts == []


@pytest.mark.parametrize("seed", [1, 2])
def test_random_programs_revokes_and_time__decide_as_an_exact_count_would(
    locks: Locks, seed: int
) -> None:
    """Whatever the order of programs, revokes and time passing, the door takes a code exactly
    when fewer than its limit of the other codes hold a place (counted here, by a model)."""
    rng = random.Random(seed)
    most = 3
    _limit(locks, most)
    refs = [f"rsv_{n}" for n in range(6)]
    held: dict[str, datetime | None] = {}  # ref → end of its window; None: revoked
    answers: list[int] = []
    for version in range(1, 61):
        now = locks.clock.now()
        ref = rng.choice(refs)
        action = rng.random()
        if action < 0.6:
            end = now + timedelta(minutes=rng.choice([10, 30, 90, 240]))
            others = sum(1 for r, e in held.items() if r != ref and e is not None and e > now)
            expected = 200 if others < most else 409
            assert _put(locks, ref, f"7{refs.index(ref)}0000", end, version) == expected
            answers.append(expected)
            if expected == 200:
                held[ref] = end
        elif action < 0.85:
            _revoke(locks, ref, version)
            held[ref] = None
        else:
            locks.advance(minutes=rng.choice([15, 45, 120]))
        live = sum(1 for e in held.values() if e is not None and e > locks.clock.now())
        assert _bound(locks) >= live
    assert {200, 409} <= set(answers)  # the door was full at times, and had room
