"""The reconciler: a door that drifted from what the hub wants is repaired, and its health kept."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import delete, select, text

from hallkey.core.jobs import JobRun, once_id
from hallkey.hub import reconcile as reconcile_module
from hallkey.hub.connectors import MemoryConnector
from hallkey.hub.connectors.base import Credential, DoorTarget
from hallkey.hub.domain import Window
from hallkey.hub.models import AuditEntry
from hallkey.hub.reconcile import RECONCILE_DOOR_JOB, reconcile_doors
from hallkey.hub.service import _bump as real_bump
from tests.hub.conftest import END, START, HubWorld
from tests.servers import wait_for

INTERVAL = timedelta(minutes=5)


def reconcile(hub: HubWorld) -> None:
    """Lets the periodic reconciler come round once, and runs what it queues."""
    hub.run_jobs()
    hub.clock.advance(INTERVAL)
    hub.run_jobs()


def door_states(hub: HubWorld, ref: str) -> list[str]:
    return [door["state"] for door in hub.get(f"grants/{ref}").json()["doors"]]


def audit(hub: HubWorld) -> list[tuple[str, str, str]]:
    with hub.ctx.database.transaction() as session:
        rows = session.scalars(select(AuditEntry).where(AuditEntry.action.like("reconcile%")))
        return [(row.ref, row.action, row.outcome) for row in rows]


def test_reconcile__credential_lost_on_the_door__is_programmed_again(hub: HubWorld) -> None:
    code = hub.grant(doors=["door-a", "door-b"])["code"]
    hub.run_jobs()
    lock = hub.ctx.connectors.memory
    del lock.door("door-b").credentials["rsv_one"]  # a lock reset on site
    assert lock.try_code("door-b", code, START).reason == "unknown_code"

    reconcile(hub)

    assert door_states(hub, "rsv_one") == ["programmed", "programmed"]
    assert lock.try_code("door-b", code, START).ref == "rsv_one"
    assert audit(hub) == [("rsv_one", "reconcile_program", "drift")]


def test_reconcile__door_holding_other_windows__gets_the_grants_windows(hub: HubWorld) -> None:
    code = hub.grant()["code"]
    hub.run_jobs()
    lock = hub.ctx.connectors.memory
    wrong = (Window(START, END + timedelta(days=1)),)
    lock.door("door-a").credentials["rsv_one"].windows = wrong
    assert lock.try_code("door-a", code, END + timedelta(hours=1)).granted

    reconcile(hub)

    held = lock.credential("door-a", "rsv_one")
    assert held is not None and held.windows == (Window(START, END),)
    assert lock.try_code("door-a", code, END + timedelta(hours=1)).reason == "outside_window"


def test_reconcile__door_honouring_a_grant_past_its_end__is_cut_back(hub: HubWorld) -> None:
    code = hub.grant()["code"]
    hub.run_jobs()
    lock = hub.ctx.connectors.memory
    lock.door("door-a").credentials["rsv_one"].windows = (Window(START, END + timedelta(days=1)),)
    hub.clock.set(END + timedelta(hours=1))  # the grant has ended; the door does not know
    assert lock.try_code("door-a", code).granted

    reconcile(hub)

    assert lock.try_code("door-a", code).reason == "outside_window"
    assert audit(hub) == [("rsv_one", "reconcile_program", "drift")]


def test_reconcile__revocation_lost_on_the_door__is_revoked_again(hub: HubWorld) -> None:
    code = hub.grant()["code"]
    hub.run_jobs()
    assert hub.post("RevokeAccess", {"ref": "rsv_one"}).status_code == 200
    hub.run_jobs()
    lock = hub.ctx.connectors.memory
    lock.door("door-a").credentials["rsv_one"].revoked = False  # restored from an old backup
    assert lock.try_code("door-a", code, START).granted

    reconcile(hub)

    assert lock.try_code("door-a", code, START).reason == "revoked"
    assert door_states(hub, "rsv_one") == ["revoked"]
    assert audit(hub) == [("rsv_one", "reconcile_revoke", "drift")]


def test_reconcile__credential_the_hub_never_granted__is_revoked(hub: HubWorld) -> None:
    hub.grant()
    hub.run_jobs()
    lock = hub.ctx.connectors.memory
    lock.program("door-a", "rsv_stranger", Credential("pin", "502817", (Window(START, END),)))

    reconcile(hub)

    assert lock.try_code("door-a", "502817", START).reason == "revoked"
    assert audit(hub) == [("rsv_stranger", "reconcile_stray", "revoked")]
    assert door_states(hub, "rsv_one") == ["programmed"]


def test_reconcile__a_page_at_a_time__repairs_drift_on_every_page(
    hub: HubWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages of two refs: credentials lost and strangers added before, between and after the
    pages' ends are all found, the rest left alone."""
    monkeypatch.setattr(reconcile_module, "RECONCILE_PAGE", 2)
    refs = [f"rsv_{letter}" for letter in "abcdefg"]
    codes = {ref: hub.grant(ref)["code"] for ref in refs}
    hub.run_jobs()
    lock = hub.ctx.connectors.memory
    for lost in ("rsv_a", "rsv_d", "rsv_g"):
        del lock.door("door-a").credentials[lost]
    for n, stranger in enumerate(("rsv_0", "rsv_cc", "rsv_z")):
        lock.program("door-a", stranger, Credential("pin", f"50281{n}", (Window(START, END),)))

    reconcile(hub)

    assert {ref: lock.try_code("door-a", codes[ref], START).ref for ref in refs} == {
        ref: ref for ref in refs
    }
    for n in range(3):
        assert lock.try_code("door-a", f"50281{n}", START).reason == "revoked"
    assert sorted(audit(hub)) == [
        ("rsv_0", "reconcile_stray", "revoked"),
        ("rsv_a", "reconcile_program", "drift"),
        ("rsv_cc", "reconcile_stray", "revoked"),
        ("rsv_d", "reconcile_program", "drift"),
        ("rsv_g", "reconcile_program", "drift"),
        ("rsv_z", "reconcile_stray", "revoked"),
    ]
    reconcile(hub)
    assert len(audit(hub)) == 6  # in step now: nothing more to repair


def test_reconcile__door_in_step__changes_nothing(hub: HubWorld) -> None:
    hub.grant(doors=["door-a", "door-b"])
    hub.run_jobs()
    reconcile(hub)
    reconcile(hub)
    assert audit(hub) == []
    # Only the recurring jobs wait, and the grant's reminder (due before its window).
    assert hub.queued_job_kinds() == {
        "purge_recipients",
        "reconcile_doors",
        "remind",
        "mqtt_events",
    }


def test_reconcile__offline_door__is_shown_offline_and_online_again_with_last_seen(
    hub: HubWorld,
) -> None:
    lock = hub.ctx.connectors.memory
    lock.door("door-b").battery = 81
    reconcile(hub)  # the first round comes one interval after the start

    def door(door_id: str) -> dict[str, object]:
        return next(d for d in hub.get("doors").json() if d["id"] == door_id)

    assert door("door-b")["online"] is True
    assert door("door-b")["battery"] == 81
    assert door("door-b")["last_seen"] == "2026-12-01T12:05:00Z"

    lock.set_online("door-b", False)
    reconcile(hub)
    assert door("door-b")["online"] is False
    assert door("door-b")["last_seen"] == "2026-12-01T12:05:00Z"
    assert door("door-a")["online"] is True

    lock.set_online("door-b", True)
    reconcile(hub)
    assert door("door-b")["online"] is True
    assert door("door-b")["last_seen"] == "2026-12-01T12:15:00Z"


def test_reconcile__slow_door__is_queued_at_most_once(hub: HubWorld) -> None:
    run = JobRun(job_id="job_reconcile_doors", kind="reconcile_doors", payload={}, attempt=1)
    for _ in range(3):  # three rounds while no door job has run yet
        assert reconcile_doors(hub.ctx, run) == INTERVAL
    table = hub.ctx.jobs.table
    with hub.ctx.database.transaction() as session:
        ids = session.scalars(select(table.c.id).where(table.c.kind == RECONCILE_DOOR_JOB)).all()
    assert sorted(ids) == sorted(
        once_id(RECONCILE_DOOR_JOB, door) for door in ("door-a", "door-b", "door-x")
    )


def _failures(code: str) -> float:
    return REGISTRY.get_sample_value("hallkey_hub_door_failures_total", {"code": code}) or 0.0


def _fill_door(hub: HubWorld) -> None:
    """Makes door-a hold its maximum: one credential of another ref."""
    lock = hub.ctx.connectors.memory
    lock.max_credentials = 1
    lock.program("door-a", "rsv_squatter", Credential("pin", "502817", (Window(START, END),)))


def test_door_full__failed_with_an_alert__programmed_once_freed_without_any_call(
    hub: HubWorld, caplog: pytest.LogCaptureFixture
) -> None:
    _fill_door(hub)
    before = _failures("no_space_on_door")
    code = hub.grant(deliver_via=[])["code"]
    with caplog.at_level(logging.WARNING, logger="hallkey.hub"):
        hub.run_jobs()
    door = hub.get("grants/rsv_one").json()["doors"][0]
    assert door["state"] == "failed"
    assert [e["code"] for e in door["errors"]] == ["no_space_on_door"]
    assert _failures("no_space_on_door") == before + 1
    alerts = [
        r.getMessage() for r in caplog.records if "failed: no_space_on_door" in r.getMessage()
    ]
    assert len(alerts) == 1 and code not in alerts[0] and "door-a" in alerts[0]
    assert "program_door" in hub.queued_job_kinds()  # still being tried, slowly

    hub.ctx.connectors.memory.revoke("door-a", "rsv_squatter")  # someone freed a slot
    hub.clock.advance(timedelta(minutes=15))
    hub.run_jobs()

    assert door_states(hub, "rsv_one") == ["programmed"]
    assert hub.ctx.connectors.memory.try_code("door-a", code, START).ref == "rsv_one"
    assert _failures("no_space_on_door") == before + 1  # one alert per turn to `failed`


def test_reconcile__failed_door_whose_job_is_gone__is_pushed_again(hub: HubWorld) -> None:
    _fill_door(hub)
    code = hub.grant(deliver_via=[])["code"]
    hub.run_jobs()
    assert door_states(hub, "rsv_one") == ["failed"]
    table = hub.ctx.jobs.table
    with hub.ctx.database.transaction() as session:  # e.g. given up on by an older version
        session.execute(delete(table).where(table.c.kind == "program_door"))
    hub.ctx.connectors.memory.revoke("door-a", "rsv_squatter")

    reconcile(hub)

    assert door_states(hub, "rsv_one") == ["programmed"]
    assert hub.ctx.connectors.memory.try_code("door-a", code, START).ref == "rsv_one"
    assert audit(hub) == [("rsv_one", "reconcile_program", "drift")]


def _waiting_on_a_lock(hub: HubWorld) -> bool:
    with hub.ctx.database.engine.connect() as connection:
        query = text(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return bool(connection.execute(query).scalar())


@pytest.mark.parametrize(
    "backend", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_reconcile__re_push_racing_a_revocation__the_revocation_reaches_the_door(
    hub: HubWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = hub.grant()["code"]
    hub.run_jobs()
    lock = hub.ctx.connectors.memory
    lock.door("door-a").credentials["rsv_one"].windows = (Window(START, END + timedelta(days=1)),)
    revoke_has_read = threading.Event()
    go_on = threading.Event()

    def bump_after_a_pause(row: Any, action: str, now: Any) -> None:
        if action == "revoke" and not revoke_has_read.is_set():
            revoke_has_read.set()  # RevokeAccess has read the door row it is about to bump
            go_on.wait(10)
        real_bump(row, action, now)

    monkeypatch.setattr("hallkey.hub.grants._bump", bump_after_a_pause)
    revoked: list[int] = []
    revoker = threading.Thread(
        target=lambda: revoked.append(hub.post("RevokeAccess", {"ref": "rsv_one"}).status_code)
    )

    class SlowDoor(MemoryConnector):
        def program(self, door: DoorTarget, ref: str, credential: Credential) -> None:
            # A re-push in flight while the revocation commits, landing after it.
            go_on.set()
            revoker.join(10)
            super().program(door, ref, credential)

    hub.ctx.connectors.register("memory", lambda config: SlowDoor(lock))
    revoker.start()
    assert revoke_has_read.wait(10)
    run = JobRun(job_id="job_x", kind=RECONCILE_DOOR_JOB, payload={"door_id": "door-a"}, attempt=1)
    reconciler = threading.Thread(target=reconcile_module.reconcile_door, args=(hub.ctx, run))
    reconciler.start()
    # The reconciler either pushes at once (nothing stops it) or waits for the revocation.
    wait_for(lambda: not reconciler.is_alive() or _waiting_on_a_lock(hub), timeout=10)
    hub.run_jobs()  # the re-push, if one was queued
    go_on.set()
    revoker.join(10)
    reconciler.join(10)
    hub.run_jobs()

    assert revoked == [200]
    assert lock.try_code("door-a", code, START).reason == "revoked"
    assert door_states(hub, "rsv_one") == ["revoked"]
