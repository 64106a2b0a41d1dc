"""Two requests at once on PostgreSQL: rows shared by both are locked in one order, so neither
fails with a deadlock."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import text

from tests.hub.conftest import START, HubWorld, iso
from tests.servers import wait_for


def _waiting_on_locks(hub: HubWorld) -> int:
    with hub.ctx.database.engine.connect() as connection:
        query = text(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return int(connection.execute(query).scalar() or 0)


def _in_thread(call: Callable[[], Any], results: dict[str, Any], name: str) -> threading.Thread:
    thread = threading.Thread(target=lambda: results.__setitem__(name, call()))
    thread.start()
    return thread


@pytest.mark.parametrize(
    "backend", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_controller_events__push_while_a_grant_takes_the_same_doors__both_succeed(
    hub: HubWorld,
) -> None:
    events = [
        # door-b first: the push's order is the controller's, not the hub's lock order.
        {"id": "evt_1", "door": "door-b", "kind": "access_granted", "at": iso(START)},
        {"id": "evt_2", "door": "door-a", "kind": "access_granted", "at": iso(START)},
    ]
    results: dict[str, Any] = {}
    # A third transaction holds door-b, so that both requests are inside their transactions
    # and waiting on door rows when it lets go: the order they then take the rest in decides.
    with hub.ctx.database.engine.connect() as holder, holder.begin():
        holder.execute(text("SELECT id FROM hub_doors WHERE id = 'door-b' FOR UPDATE"))
        push = _in_thread(
            lambda: hub.http.post(
                "/hub/v1/controller-events",
                json={"events": events},
                headers={"Authorization": f"Bearer {hub.events_token}"},
            ),
            results,
            "push",
        )
        wait_for(lambda: _waiting_on_locks(hub) >= 1, timeout=10)
        grant = _in_thread(
            lambda: hub.post("GrantAccess", hub.grant_body(doors=["door-a", "door-b"])),
            results,
            "grant",
        )
        wait_for(lambda: _waiting_on_locks(hub) >= 2, timeout=10)
    push.join(30)
    grant.join(30)

    assert results["push"].status_code == 200, results["push"].text
    assert results["push"].json() == {"accepted": 2, "rejected": []}
    assert results["grant"].status_code == 201, results["grant"].text
    assert len(hub.get("events").json()) == 2
