"""GrantAccess with `operation: "unlock"` on a relay that takes one opening at a time: the hub
opens it at each window's start, the relay relocks at the end; revoke and move follow."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest

from hallkey.hub import create_door, create_site
from tests.hub.conftest import END, START, HubWorld, iso
from tests.hub.relays import BROKER_URL, MqttRelay, require_mosquitto, unique_prefix
from tests.servers import wait_for


@pytest.fixture
def relay(hub: HubWorld) -> Iterator[MqttRelay]:
    """A hallkey-flavour relay on the real Mosquitto, on the hub's clock, behind door-m."""
    require_mosquitto()
    prefix = unique_prefix()
    relay = MqttRelay("hallkey", prefix, "hall-main", clock=hub.clock.now).connect()
    config = {"broker": BROKER_URL, "flavour": "hallkey", "prefix": prefix}
    with hub.ctx.database.transaction() as session:
        site_id, _ = create_site(
            hub.ctx, session, client_id=hub.client_id, name="Idrettshall", connector="mqtt",
            config=config,
        )  # fmt: skip
        create_door(
            hub.ctx, session, site_id=site_id, name="Hall", door_id="door-m", remote_id=relay.door
        )
    try:
        yield relay
    finally:
        relay.remove()


def actions(relay: MqttRelay) -> list[tuple[str, str | None]]:
    return [
        (json.loads(payload)["action"], json.loads(payload).get("until"))
        for _, payload in relay.commands
    ]


def grant_unlock(hub: HubWorld) -> dict[str, object]:
    return hub.grant(operation="unlock", doors=["door-m"], deliver_via=[])


def test_unlock_grant__mqtt_relay__opened_at_the_start_until_the_end(
    hub: HubWorld, relay: MqttRelay
) -> None:
    granted = grant_unlock(hub)
    assert "code" not in granted or granted["code"] is None
    hub.run_jobs()
    assert [d["state"] for d in hub.get("grants/rsv_one").json()["doors"]] == ["programmed"]
    assert relay.commands == []  # nothing before the window

    hub.clock.set(START)
    hub.run_jobs()

    wait_for(lambda: actions(relay) == [("unlock", iso(END))])
    wait_for(lambda: relay.states == [False])
    assert hub.messages() == []


def test_unlock_grant__revoked_while_open__relay_locked_at_once(
    hub: HubWorld, relay: MqttRelay
) -> None:
    grant_unlock(hub)
    hub.clock.set(START + timedelta(minutes=5))
    hub.run_jobs()
    wait_for(lambda: relay.states == [False])
    hub.run_jobs()  # the retained state reaches the hub's connection

    assert hub.post("RevokeAccess", {"ref": "rsv_one"}).status_code == 200
    wait_for(lambda: (hub.run_jobs(), relay.states == [False, True])[1])
    assert [action for action, _ in actions(relay)][-1] == "lock"
    # The window job ends with the grant: a later start opens nothing.
    hub.clock.set(END + timedelta(days=1))
    hub.run_jobs()
    assert relay.states == [False, True]


def test_unlock_grant__series_moved__opens_at_each_new_start_only(
    hub: HubWorld, relay: MqttRelay
) -> None:
    week = timedelta(days=7)
    windows = [
        {"valid_from": iso(START), "valid_to": iso(END)},
        {"valid_from": iso(START + week), "valid_to": iso(END + week)},
    ]
    hub.post("GrantAccess", hub.grant_body(operation="unlock", doors=["door-m"],
                                           deliver_via=[], windows=windows,
                                           valid_from=None, valid_to=None))  # fmt: skip
    hub.run_jobs()
    later = timedelta(hours=2)
    moved = [
        {"valid_from": iso(START + later), "valid_to": iso(END + later)},
        {"valid_from": iso(START + week + later), "valid_to": iso(END + week + later)},
    ]
    assert hub.post("UpdateAccess", {"ref": "rsv_one", "windows": moved}).status_code == 200
    hub.run_jobs()

    for moment in (START, START + later, START + week + later):
        hub.clock.set(moment)
        hub.run_jobs()
    wait_for(
        lambda: (
            actions(relay) == [("unlock", iso(END + later)), ("unlock", iso(END + week + later))]
        )
    )
