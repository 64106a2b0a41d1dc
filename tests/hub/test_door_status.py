"""Door status through the hub API for every connector, the offline alert, and the refusal of
a credential a relay cannot keep."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY

from hallkey.hub import create_door, create_site
from tests.hub.conftest import HubWorld, iso
from tests.hub.relays import (
    BROKER_URL,
    MqttRelay,
    ShellyDevice,
    port_in_range,
    require_mosquitto,
    unique_prefix,
)
from tests.servers import ServerThread, wait_for

INTERVAL = timedelta(minutes=5)


def reconcile(hub: HubWorld) -> None:
    """Lets the periodic reconciler come round once, and runs what it queues."""
    hub.run_jobs()
    hub.clock.advance(INTERVAL)
    hub.run_jobs()


def doors(hub: HubWorld) -> dict[str, dict[str, Any]]:
    response = hub.get("doors")
    assert response.status_code == 200, response.text
    return {door["id"]: door for door in response.json()}


def online_after_reconcile(hub: HubWorld, door_id: str) -> bool:
    """Reconciles once more and returns whether the hub now sees the door online."""
    reconcile(hub)
    return bool(doors(hub)[door_id]["online"])


def offline_alerts(connector: str) -> float:
    value = REGISTRY.get_sample_value(
        "hallkey_hub_doors_went_offline_total", {"connector": connector}
    )
    return value or 0.0


@pytest.fixture
def relay() -> Iterator[MqttRelay]:
    """A hallkey-flavour relay on the real Mosquitto (battery 64)."""
    require_mosquitto()
    prefix = unique_prefix()
    relay = MqttRelay("hallkey", prefix, "hall-main", battery=64).connect()
    try:
        yield relay
    finally:
        relay.remove()


def _mqtt_door(hub: HubWorld, relay: MqttRelay, flavour: str = "hallkey") -> str:
    config = {"broker": BROKER_URL, "flavour": flavour, "prefix": relay.prefix}
    with hub.ctx.database.transaction() as session:
        site_id, _ = create_site(
            hub.ctx, session, client_id=hub.client_id, name="Idrettshall", connector="mqtt",
            config=config,
        )  # fmt: skip
        return create_door(
            hub.ctx, session, site_id=site_id, name="Hall", door_id="door-m", remote_id=relay.door
        )


def test_doors__mqtt_relay__online_battery_and_last_seen_from_its_retained_topics(
    hub: HubWorld, relay: MqttRelay
) -> None:
    door_id = _mqtt_door(hub, relay)
    reconcile(hub)

    door = doors(hub)[door_id]
    assert (door["connector"], door["capabilities"]) == ("mqtt", ["pulse", "schedule"])
    assert (door["online"], door["battery"]) == (True, 64)
    assert door["last_seen"] == iso(hub.clock.now())


def test_doors__mqtt_relay_loses_its_connection__offline_with_an_operator_alert(
    hub: HubWorld, relay: MqttRelay, caplog: pytest.LogCaptureFixture
) -> None:
    door_id = _mqtt_door(hub, relay)
    reconcile(hub)
    seen = doors(hub)[door_id]["last_seen"]
    before = offline_alerts("mqtt")

    relay.drop()  # the broker publishes its last will
    with caplog.at_level(logging.WARNING, logger="hallkey.hub.reconcile"):
        wait_for(lambda: not online_after_reconcile(hub, door_id), timeout=10)

    door = doors(hub)[door_id]
    assert (door["online"], door["last_seen"], door["battery"]) == (False, seen, 64)
    assert offline_alerts("mqtt") == before + 1
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        f"door {door_id} (mqtt) went offline"
    ]

    relay.connect()
    wait_for(lambda: online_after_reconcile(hub, door_id), timeout=10)
    assert doors(hub)[door_id]["last_seen"] == iso(hub.clock.now())
    assert offline_alerts("mqtt") == before + 1


def test_doors__shelly_relay__online_while_it_answers_offline_when_it_does_not(
    hub: HubWorld,
) -> None:
    device = ShellyDevice(password="pw")
    server = ServerThread(device.app, port_in_range()).start()
    try:
        relays = {"gate": {"url": server.base_url, "password": "pw", "switch_id": 0}}
        with hub.ctx.database.transaction() as session:
            site_id, _ = create_site(
                hub.ctx, session, client_id=hub.client_id, name="Bane", connector="shelly",
                config={"doors": json.dumps(relays)},
            )  # fmt: skip
            door_id = create_door(
                hub.ctx, session, site_id=site_id, name="Port", door_id="door-s", remote_id="gate"
            )
        before = offline_alerts("shelly")
        reconcile(hub)
        door = doors(hub)[door_id]
        assert (door["online"], door["battery"], door["capabilities"]) == (True, None, ["pulse"])
        assert [call["method"] for call in device.calls] == ["Switch.GetStatus"]

        server.stop()
        reconcile(hub)
        assert doors(hub)[door_id]["online"] is False
        assert offline_alerts("shelly") == before + 1
    finally:
        server.stop()


def test_grant_access__pin_on_a_pulse_only_relay__is_refused_naming_the_door(
    hub: HubWorld, relay: MqttRelay
) -> None:
    door_id = _mqtt_door(hub, relay)
    response = hub.post("GrantAccess", hub.grant_body(doors=[hub.doors[0], door_id]))

    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("unsupported_by_door", "credential")
    assert door_id in error["message"]
    assert hub.get("grants/rsv_one").status_code == 404
    assert relay.commands == []
