"""Forwarding door events to the booking system: one bad event never blocks the others."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from hallkey.hub import forwarding, set_client_events
from hallkey.hub.events import FORWARD_JOB
from hallkey.hub.models import DoorEvent
from tests.hub.booking_standins import (
    BOOKING_TOKEN,
    protocol_booking_app,
    strict_old_booking_app,
)
from tests.hub.conftest import START, HubWorld, iso
from tests.servers import ServerThread, free_port, serving

LONG_REF = "rsv_" + "x" * 46
"""A ref the hub takes (up to 64 characters) that the stand-ins refuse (more than 40)."""


def _refuse_long_refs(event: dict[str, Any]) -> str | None:
    return "invalid" if event["ref"] and len(event["ref"]) > 40 else None


def _push(hub: HubWorld, events: list[dict[str, Any]]) -> None:
    response = hub.http.post(
        "/hub/v1/controller-events",
        json={"events": events},
        headers={"Authorization": f"Bearer {hub.events_token}"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["rejected"] == []


def _event(n: int, ref: str = "rsv_one") -> dict[str, Any]:
    return {
        "id": f"evt_{n}",
        "door": "door-a",
        "ref": ref,
        "kind": "access_granted",
        "at": iso(START + timedelta(seconds=n)),
    }


def _link(hub: HubWorld, url: str) -> None:
    with hub.ctx.database.transaction() as session:
        set_client_events(
            hub.ctx, session, client_id=hub.client_id, events_url=url, events_token=BOOKING_TOKEN
        )


def _forward_state(hub: HubWorld) -> dict[str, tuple[bool, str | None]]:
    """Returns, by ref and time, whether each stored event went out and its quarantine code."""
    with hub.ctx.database.transaction() as session:
        rows = session.execute(
            select(DoorEvent.external_id, DoorEvent.forwarded_at, DoorEvent.forward_error)
        ).all()
    return {external: (forwarded is not None, error) for external, forwarded, error in rows}


def _forward_jobs(hub: HubWorld) -> int:
    table = hub.ctx.jobs.table
    with hub.ctx.database.transaction() as session:
        count = session.scalar(select(func.count()).where(table.c.kind == FORWARD_JOB))
    return int(count or 0)


def _quarantined() -> float:
    return REGISTRY.get_sample_value("hallkey_hub_events_quarantined_total") or 0.0


def _hub_ids(hub: HubWorld) -> dict[str, str]:
    """Returns the hub's event id of each controller event id."""
    with hub.ctx.database.transaction() as session:
        rows = session.execute(select(DoorEvent.external_id, DoorEvent.id)).all()
    return {external: hub_id for external, hub_id in rows}


def test_forwarding__receiver_rejects_one_event__the_others_arrive_and_it_is_quarantined(
    hub: HubWorld,
) -> None:
    received: dict[str, dict[str, Any]] = {}
    before = _quarantined()
    with serving(protocol_booking_app(received, _refuse_long_refs)) as booking:
        _link(hub, f"{booking.base_url}/api/v1/access-events")
        _push(hub, [_event(1), _event(2, ref=LONG_REF), _event(3)])
        hub.run_jobs()
        _push(hub, [_event(4)])  # later events are not held up by the refused one
        hub.run_jobs()
    ids = _hub_ids(hub)
    assert sorted(received) == sorted(ids[f"evt_{n}"] for n in (1, 3, 4))
    assert _forward_state(hub) == {
        "evt_1": (True, None),
        "evt_2": (True, "invalid"),
        "evt_3": (True, None),
        "evt_4": (True, None),
    }
    assert _quarantined() == before + 1
    assert _forward_jobs(hub) == 0


def test_forwarding__old_receiver_refuses_whole_batches__split_until_the_bad_events_are_found(
    hub: HubWorld, caplog: pytest.LogCaptureFixture
) -> None:
    received: dict[str, dict[str, Any]] = {}
    before = _quarantined()
    bad = {4, 9}
    events = [_event(n, ref=LONG_REF if n in bad else "rsv_one") for n in range(12)]
    with serving(strict_old_booking_app(received, _refuse_long_refs)) as booking:
        _link(hub, f"{booking.base_url}/api/v1/access-events")
        _push(hub, events)
        hub.run_jobs()
        _push(hub, [_event(20)])
        hub.run_jobs()
    ids = _hub_ids(hub)
    good = [n for n in [*range(12), 20] if n not in bad]
    assert sorted(received) == sorted(ids[f"evt_{n}"] for n in good)
    state = _forward_state(hub)
    assert {n: state[f"evt_{n}"] for n in bad} == {4: (True, "invalid"), 9: (True, "invalid")}
    assert _quarantined() == before + 2
    assert _forward_jobs(hub) == 0
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any(ids["evt_4"] in line and "invalid" in line for line in warnings)
    assert all(LONG_REF not in line for line in warnings)  # no ref in the log


def test_forwarding__wrong_events_url__nothing_quarantined_and_sent_once_mended(
    hub: HubWorld,
) -> None:
    received: dict[str, dict[str, Any]] = {}
    with serving(protocol_booking_app(received, _refuse_long_refs)) as booking:
        _link(hub, f"{booking.base_url}/api/v1/no-such-path")
        _push(hub, [_event(1), _event(2)])
        hub.run_jobs()
        assert received == {}
        assert _forward_state(hub) == {"evt_1": (False, None), "evt_2": (False, None)}
        _link(hub, f"{booking.base_url}/api/v1/access-events")
        hub.run_jobs()
    assert len(received) == 2


def test_forwarding__booking_down_for_30_pushes__one_job_and_all_arrive_once(
    hub: HubWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(forwarding, "FORWARD_BATCH", 7)  # several batches in one run
    received: dict[str, dict[str, Any]] = {}
    calls: Counter[str] = Counter()
    port = free_port()
    _link(hub, f"http://127.0.0.1:{port}/api/v1/access-events")
    for n in range(30):
        _push(hub, [_event(n)])
        hub.run_jobs()
    assert received == {}
    assert _forward_jobs(hub) == 1
    server = ServerThread(protocol_booking_app(received, _refuse_long_refs, calls), port).start()
    try:
        hub.clock.advance(timedelta(minutes=10))
        hub.run_jobs()
    finally:
        server.stop()
    assert len(received) == 30
    assert set(calls.values()) == {1}
    assert _forward_jobs(hub) == 0
