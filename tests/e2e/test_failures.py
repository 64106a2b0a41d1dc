"""Nothing is lost when another context is down: work waits in an outbox and catches up."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select

from hallkey.booking.service import SYNC_ACCESS
from hallkey.core.jobs import JobQueue
from hallkey.hub.service import PROGRAM_JOB
from hallkey.locks.models import Credential, CredentialWindow
from tests.conftest import DatabaseUrlFactory
from tests.e2e.harness import Deployment, deployment
from tests.e2e.test_story import CUSTOMER, book, keypad, reservation
from tests.servers import wait_for

NOW = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)


@pytest.fixture
def split(database_url: DatabaseUrlFactory, tmp_path: Path) -> Iterator[Deployment]:
    with deployment("split", database_url, tmp_path / "var", NOW) as deployed:
        yield deployed


def catch_up(d: Deployment, until: Any, *, step_minutes: int = 6, rounds: int = 12) -> None:
    """Moves the clock past the retry backoff until `until()` holds."""
    for _ in range(rounds):
        if until():
            return
        d.clock.advance(timedelta(minutes=step_minutes))
        for worker in d.contexts.workers():
            worker.queue.wakeup.set()
        try:
            wait_for(until, timeout=1)
            return
        except AssertionError:
            continue
    assert until()


def test_hub_down__reservation_waits_pending__and_is_granted_when_the_hub_is_back(
    split: Deployment,
) -> None:
    d = split
    d.stop("hub")
    created = book(d, NOW + timedelta(minutes=5), NOW + timedelta(hours=3), CUSTOMER)
    assert created["access"]["state"] == "pending"
    d.clock.advance(timedelta(seconds=30))
    wait_for(lambda: True)
    assert reservation(d, created["id"])["access"]["state"] == "pending"

    d.start("hub")
    catch_up(d, lambda: reservation(d, created["id"])["access"]["state"] == "granted")
    typed = reservation(d, created["id"])["access"]["code_formatted"]
    door = d.demo["resources"][0]["doors"][0]
    wait_for(lambda: d.door_states(created["ref"]) == {"programmed"}, timeout=15)
    assert keypad(d, door, typed)["granted"] is True


def test_controller_down__door_pending_then_failed__programmed_when_it_is_back(
    split: Deployment,
) -> None:
    d = split
    d.stop("locks")
    created = book(d, NOW + timedelta(minutes=5), NOW + timedelta(hours=5), CUSTOMER)
    wait_for(lambda: reservation(d, created["id"])["access"]["state"] == "granted")

    def door_states() -> set[str]:
        with d.hub() as hub:
            grant = hub.get(f"/hub/v1/grants/{created['ref']}").json()
        return {door["state"] for door in grant["doors"]}

    def door_errors() -> set[str]:
        with d.hub() as hub:
            grant = hub.get(f"/hub/v1/grants/{created['ref']}").json()
        return {error["code"] for door in grant["doors"] for error in door["errors"]}

    wait_for(lambda: "door_offline" in door_errors())
    assert door_states() == {"pending"}
    catch_up(d, lambda: door_states() == {"failed"}, step_minutes=3)

    d.start("locks")
    catch_up(d, lambda: door_states() == {"programmed"})
    typed = reservation(d, created["id"])["access"]["code_formatted"]
    d.clock.set(NOW)
    for door in d.demo["resources"][0]["doors"]:
        assert keypad(d, door, typed)["granted"] is True


def test_controller_restored_from_an_old_backup__reconciler_puts_the_code_back(
    split: Deployment,
) -> None:
    d = split
    created = book(d, NOW + timedelta(minutes=5), NOW + timedelta(hours=2), CUSTOMER)
    wait_for(lambda: reservation(d, created["id"])["access"]["state"] == "granted")
    typed = reservation(d, created["id"])["access"]["code_formatted"]
    doors = d.demo["resources"][0]["doors"]
    # Slowly: a keypad takes 60 tries a minute, then answers 429.
    wait_for(lambda: all(keypad(d, door, typed).get("granted") for door in doors), interval=0.5)

    # The controller's credentials table is rolled back to before the booking.
    locks = d.contexts.locks
    assert locks is not None
    with locks.database.transaction() as session:
        session.execute(delete(CredentialWindow))
        session.execute(delete(Credential))
    assert keypad(d, doors[0], typed)["reason"] == "unknown_code"

    catch_up(d, lambda: all(keypad(d, door, typed)["granted"] for door in doors))
    with d.hub() as hub:
        listed = {door["id"]: door for door in hub.get("/hub/v1/doors").json()}
    assert all(listed[door]["online"] and listed[door]["last_seen"] for door in doors)


RECOVERY_DEADLINE = 15.0
"""Seconds of real time (the clock stands still) in which waiting work must catch up."""


def grow_backoff(d: Deployment, queue: JobQueue, kind: str, *, at_least: timedelta) -> None:
    """Moves the clock on until every pending job of `kind` waits `at_least` for its next try."""
    table = queue.table

    def waits() -> list[timedelta]:
        """The wait of each job of `kind`; zero while one is running."""
        with queue.database.transaction() as session:
            rows = session.execute(
                select(table.c.run_at, table.c.locked_by).where(
                    table.c.kind == kind, table.c.status == "pending"
                )
            ).all()
        if not rows or any(row.locked_by for row in rows):
            return [timedelta(0)]
        return [row.run_at - d.clock.now() for row in rows]

    for _ in range(40):
        if min(waits()) >= at_least:
            return
        d.clock.advance(timedelta(minutes=5))
        queue.wakeup.set()
        wait_for(lambda: min(waits()) > timedelta(0))
    raise AssertionError(f"the backoff of {kind} did not grow to {at_least}")


def online(d: Deployment) -> dict[str, bool]:
    with d.hub() as hub:
        return {door["id"]: door["online"] for door in hub.get("/hub/v1/doors").json()}


def hub_door_states(d: Deployment, ref: str) -> set[str]:
    with d.hub() as hub:
        response = hub.get(f"/hub/v1/grants/{ref}")
    if response.status_code == 404:
        return set()  # not granted yet
    assert response.status_code == 200, response.text
    return {door["state"] for door in response.json()["doors"]}


def test_controller_down__booking_cancelled__code_refused_within_seconds_of_its_return(
    split: Deployment,
) -> None:
    d = split
    assert d.contexts.hub is not None
    created = book(d, NOW + timedelta(minutes=5), NOW + timedelta(hours=5), CUSTOMER)
    wait_for(lambda: hub_door_states(d, created["ref"]) == {"programmed"})
    typed = reservation(d, created["id"])["access"]["code_formatted"]
    doors = d.demo["resources"][0]["doors"]

    d.stop("locks")
    with d.booking() as api:
        assert api.post(f"/api/v1/reservations/{created['id']}/cancel").status_code == 200
    wait_for(lambda: reservation(d, created["id"])["access"]["state"] == "revoked")
    # The revocation cannot reach the doors; its retries back off to minutes.
    grow_backoff(d, d.contexts.hub.jobs, PROGRAM_JOB, at_least=timedelta(minutes=2))
    assert not any(online(d).get(door) for door in doors)  # the reconciler saw them go

    # The hub's own probe is kept out of it: the controller, on its return, tells the hub.
    d.contexts.hub.worker.peers.probe_seconds = 3600
    d.start("locks")
    wait_for(lambda: hub_door_states(d, created["ref"]) == {"revoked"}, RECOVERY_DEADLINE)
    for door in doors:
        assert keypad(d, door, typed)["reason"] == "revoked"
    # ... and the hub reconciled the doors it had seen go offline.
    wait_for(lambda: all(online(d).get(door) for door in doors), RECOVERY_DEADLINE)


def test_hub_down__several_bookings__all_granted_within_seconds_of_its_return(
    split: Deployment,
) -> None:
    d = split
    assert d.contexts.booking is not None
    d.stop("hub")
    day = NOW + timedelta(days=1)
    created = [
        book(d, day + timedelta(hours=3 * n), day + timedelta(hours=3 * n + 2), CUSTOMER)
        for n in range(4)
    ]
    grow_backoff(d, d.contexts.booking.jobs, SYNC_ACCESS, at_least=timedelta(minutes=2))
    assert {reservation(d, r["id"])["access"]["state"] for r in created} == {"pending"}

    d.start("hub")
    wait_for(
        lambda: {reservation(d, r["id"])["access"]["state"] for r in created} == {"granted"},
        RECOVERY_DEADLINE,
    )
