"""One programming job for a grant's doors on one site; each door keeps its own state."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select

from hallkey.hub.models import AuditEntry
from hallkey.hub.service import PROGRAM_JOB
from tests.hub.conftest import END, START, HubWorld, iso


def _program_jobs(hub: HubWorld) -> list[dict[str, Any]]:
    table = hub.ctx.jobs.table
    with hub.ctx.database.transaction() as session:
        payloads = session.scalars(
            select(table.c.payload).where(table.c.kind == PROGRAM_JOB, table.c.status == "pending")
        )
        return [dict(p) for p in payloads]


def _door_states(hub: HubWorld) -> dict[str, str]:
    return {d["id"]: d["state"] for d in hub.get("grants/rsv_one").json()["doors"]}


def _ok_audits(hub: HubWorld, door_id: str) -> int:
    with hub.ctx.database.transaction() as session:
        return len(
            session.scalars(
                select(AuditEntry).where(AuditEntry.door_id == door_id, AuditEntry.outcome == "ok")
            ).all()
        )


def test_grant__two_doors_of_a_site__one_job_programs_both(hub: HubWorld) -> None:
    granted = hub.grant(doors=hub.doors)

    assert [job["door_ids"] for job in _program_jobs(hub)] == [["door-a", "door-b"]]
    hub.run_jobs()
    assert _door_states(hub) == {"door-a": "programmed", "door-b": "programmed"}
    for door in ("door-a", "door-b"):
        assert hub.ctx.connectors.memory.try_code(door, granted["code"], START).ref == "rsv_one"
        assert _ok_audits(hub, door) == 1


def test_one_door_offline__the_other_is_programmed_and_only_the_offline_one_is_retried(
    hub: HubWorld,
) -> None:
    memory = hub.ctx.connectors.memory
    memory.set_online("door-a", False)
    granted = hub.grant(doors=hub.doors)

    hub.run_jobs()
    view = hub.get("grants/rsv_one").json()
    by_door = {d["id"]: d for d in view["doors"]}
    assert by_door["door-b"]["state"] == "programmed"
    assert by_door["door-a"]["state"] == "pending"
    assert [e["code"] for e in by_door["door-a"]["errors"]] == ["door_offline"]
    assert _program_jobs(hub)  # still queued, backing off

    memory.set_online("door-a", True)
    hub.clock.advance(timedelta(minutes=10))
    hub.run_jobs()
    assert _door_states(hub) == {"door-a": "programmed", "door-b": "programmed"}
    assert memory.try_code("door-a", granted["code"], START).ref == "rsv_one"
    assert _ok_audits(hub, "door-b") == 1  # not programmed a second time
    assert _program_jobs(hub) == []


def test_a_job_queued_before_jobs_named_several_doors__programs_its_one_door(
    hub: HubWorld,
) -> None:
    hub.grant(doors=hub.doors)
    (queued,) = _program_jobs(hub)
    table = hub.ctx.jobs.table
    with hub.ctx.database.transaction() as session:
        session.execute(delete(table).where(table.c.kind == PROGRAM_JOB))
        hub.ctx.jobs.enqueue(
            session, PROGRAM_JOB, {"grant_id": queued["grant_id"], "door_id": "door-b"}
        )

    hub.run_jobs()
    assert _door_states(hub) == {"door-a": "pending", "door-b": "programmed"}


def test_update__moves_the_window_on_one_door_and_revokes_the_other__in_one_job(
    hub: HubWorld,
) -> None:
    granted = hub.grant(doors=hub.doors)
    hub.run_jobs()
    later_from, later_to = START + timedelta(days=1), END + timedelta(days=1)

    changed = hub.post(
        "UpdateAccess",
        {
            "ref": "rsv_one",
            "doors": ["door-a"],
            "valid_from": iso(later_from),
            "valid_to": iso(later_to),
        },
    )
    assert changed.status_code == 200, changed.text
    assert [job["door_ids"] for job in _program_jobs(hub)] == [["door-a", "door-b"]]
    hub.run_jobs()

    assert _door_states(hub) == {"door-a": "programmed", "door-b": "revoked"}
    memory = hub.ctx.connectors.memory
    assert memory.try_code("door-a", granted["code"], START).reason == "outside_window"
    assert memory.try_code("door-a", granted["code"], later_from).ref == "rsv_one"
    assert memory.try_code("door-b", granted["code"], START).reason == "revoked"
