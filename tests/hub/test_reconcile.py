"""The reconciler: a door that drifted from what the hub wants is repaired, and its health kept."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from hallkey.core.jobs import JobRun, once_id
from hallkey.hub.connectors.base import Credential
from hallkey.hub.domain import Window
from hallkey.hub.models import AuditEntry
from hallkey.hub.reconcile import RECONCILE_DOOR_JOB, reconcile_doors
from tests.hub.conftest import END, START, HubWorld

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


def test_reconcile__door_in_step__changes_nothing(hub: HubWorld) -> None:
    hub.grant(doors=["door-a", "door-b"])
    hub.run_jobs()
    reconcile(hub)
    reconcile(hub)
    assert audit(hub) == []
    assert hub.queued_job_kinds() == {"purge_recipients", "reconcile_doors"}


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
