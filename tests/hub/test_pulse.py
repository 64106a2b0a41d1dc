"""GrantPulseAccess when the door's connector or its site's configuration fails."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from hallkey.hub import create_door, create_site
from hallkey.hub.connectors.base import DoorTarget, LockConnector
from hallkey.hub.connectors.memory import MemoryConnector
from hallkey.hub.models import AuditEntry, Site
from tests.hub.conftest import START, HubWorld


class _CrashingPulse(MemoryConnector):
    """A connector with a bug: its pulse raises something other than ConnectorError."""

    def pulse(self, door: DoorTarget, seconds: int, ref: str | None) -> datetime:
        raise RuntimeError("connector bug: +4791234567 code 482915")


def _pulse_audit(hub: HubWorld) -> list[tuple[str, str | None, str]]:
    with hub.ctx.database.transaction() as session:
        rows = session.execute(
            select(AuditEntry.ref, AuditEntry.door_id, AuditEntry.outcome).where(
                AuditEntry.action == "pulse"
            )
        ).all()
    return [(ref, door, outcome) for ref, door, outcome in rows]


def _granted_now(hub: HubWorld, door: str = "door-a") -> dict[str, str]:
    hub.grant(doors=[door])
    hub.run_jobs()
    hub.clock.set(START + timedelta(minutes=5))
    return {"ref": "rsv_one", "door": door}


def test_grant_pulse_access__connector_raises_an_unexpected_error__503_and_audited(
    hub: HubWorld, caplog: pytest.LogCaptureFixture
) -> None:
    memory = hub.ctx.connectors.memory

    def crashing(config: Mapping[str, str]) -> LockConnector:
        return _CrashingPulse(memory)

    hub.ctx.connectors.register("crashing", crashing)
    with hub.ctx.database.transaction() as session:
        site_id, _ = create_site(
            hub.ctx, session, client_id=hub.client_id, name="Hall", connector="crashing",
            config={},
        )  # fmt: skip
        create_door(hub.ctx, session, site_id=site_id, name="Hallinngang", door_id="door-h")
    memory.add_door("door-h")
    body = _granted_now(hub, "door-h")

    response = hub.post("GrantPulseAccess", body)

    assert response.status_code == 503
    assert response.json()["error"] == {
        "code": "door_unavailable",
        "message": "the door could not be reached",
        "field": "door",
    }
    assert _pulse_audit(hub) == [("rsv_one", "door-h", "door_unavailable")]
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "RuntimeError" in logged
    assert "4791234567" not in logged and "482915" not in logged


def test_grant_pulse_access__site_config_cannot_be_opened__503_site_misconfigured_and_audited(
    hub: HubWorld,
) -> None:
    body = _granted_now(hub)
    with hub.ctx.database.transaction() as session:
        site = session.get(Site, hub.site_id)
        assert site is not None
        site.config_sealed = "sealed with another key"

    response = hub.post("GrantPulseAccess", body)

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "site_misconfigured"
    assert response.json()["error"]["field"] == "door"
    assert _pulse_audit(hub) == [("rsv_one", "door-a", "site_misconfigured")]
    assert hub.ctx.connectors.memory.door("door-a").pulses == []


def test_grant_pulse_access__site_names_an_unknown_connector__503_site_misconfigured(
    hub: HubWorld,
) -> None:
    body = _granted_now(hub)
    with hub.ctx.database.transaction() as session:
        site = session.get(Site, hub.site_id)
        assert site is not None
        site.connector = "retired-vendor"
        sealed_list = hub.ctx.box.seal("[1, 2]")  # valid JSON, but not a config
    assert hub.post("GrantPulseAccess", body).json()["error"]["code"] == "site_misconfigured"
    with hub.ctx.database.transaction() as session:
        site = session.get(Site, hub.site_id)
        assert site is not None
        site.connector = "memory"
        site.config_sealed = sealed_list
    assert hub.post("GrantPulseAccess", body).json()["error"]["code"] == "site_misconfigured"
    outcomes = [outcome for _, _, outcome in _pulse_audit(hub)]
    assert outcomes == ["site_misconfigured", "site_misconfigured"]
