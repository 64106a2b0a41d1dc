"""Door events that MQTT relays publish, read into the hub and forwarded to the booking system,
on the real Mosquitto: by ref when the device names one, door-only otherwise, each once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from hallkey.hub import issue_operator_key, set_client_events
from hallkey.hub.mqtt_events import Received, event_of
from tests.hub.booking_standins import BOOKING_TOKEN, protocol_booking_app
from tests.hub.conftest import START, T0, HubWorld, iso
from tests.hub.relays import BROKER_URL, MOSQUITTO, MqttRelay, require_mosquitto, unique_prefix
from tests.servers import serving, wait_for


@pytest.fixture
def relay() -> Iterator[MqttRelay]:
    """A hallkey-flavour relay with a topic prefix of its own on the real Mosquitto."""
    require_mosquitto()
    prefix = unique_prefix()
    made = MqttRelay("hallkey", prefix, f"{prefix}-door").connect()
    try:
        yield made
    finally:
        made.remove()


class Device:
    """Publishes on the relay's event topic as its firmware would."""

    def __init__(self, relay: MqttRelay) -> None:
        self.topic = f"{relay.prefix}/{relay.door}/event"
        self.prefix = relay.prefix
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2)
        self.client.connect(*MOSQUITTO)
        self.client.loop_start()

    def publish(self, payload: dict[str, Any] | str, topic: str | None = None) -> None:
        text = payload if isinstance(payload, str) else json.dumps(payload)
        self.client.publish(topic or self.topic, text, qos=1).wait_for_publish(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _mqtt_site(hub: HubWorld, relay: MqttRelay) -> str:
    """Makes an MQTT site with one door through the operator API; returns the hub's door id."""
    with hub.ctx.database.transaction() as session:
        _, key = issue_operator_key(hub.ctx, session, name="test")
    headers = {"Authorization": f"Bearer {key}"}
    config = {"broker": BROKER_URL, "flavour": "hallkey", "prefix": relay.prefix}
    site = hub.http.post(
        "/hub/v1/operator/sites",
        json={"client_id": hub.client_id, "name": "Relés", "connector": "mqtt", "config": config},
        headers=headers,
    )
    assert site.status_code == 201, site.text
    door = hub.http.post(
        "/hub/v1/operator/doors",
        json={"site_id": site.json()["id"], "id": "relay-door", "name": "Relé",
              "remote_id": relay.door},
        headers=headers,
    )  # fmt: skip
    assert door.status_code == 201, door.text
    return "relay-door"


def _events(hub: HubWorld, door: str) -> list[dict[str, Any]]:
    body: list[dict[str, Any]] = hub.get("events", door=door).json()
    return body


def test_mqtt_events__device_publishes__stored_once_by_ref_or_door_and_forwarded(
    hub: HubWorld, relay: MqttRelay
) -> None:
    door = _mqtt_site(hub, relay)
    hub.run_jobs()  # the site's creation made the listening job due: this worker listens now
    device = Device(relay)
    received: dict[str, dict[str, Any]] = {}
    try:
        with serving(protocol_booking_app(received, lambda event: None)) as booking:
            with hub.ctx.database.transaction() as session:
                set_client_events(
                    hub.ctx, session, client_id=hub.client_id,
                    events_url=f"{booking.base_url}/api/v1/access-events",
                    events_token=BOOKING_TOKEN,
                )  # fmt: skip
            granted = {"id": "e-1", "kind": "access_granted", "ref": "rsv_mq1",
                       "at": iso(START)}  # fmt: skip
            device.publish(granted)
            device.publish(granted)  # a redelivery: the same event
            device.publish({"kind": "locked"})  # door-only, no id, no time
            device.publish("not json")
            device.publish({"id": "e-9", "kind": "locked"}, f"{relay.prefix}/no-such-door/event")
            later = iso(START + timedelta(seconds=5))
            device.publish({"id": "e-2", "kind": "access_denied", "ref": "rsv_mq1",
                            "reason": "outside_window", "at": later})  # fmt: skip

            wait_for(lambda: len(_events(hub, door)) == 3, timeout=10)
            assert hub.ctx.mqtt_events.wait_idle(5)
            hub.run_jobs()  # forwarding
        stored = _events(hub, door)
        assert [(e["kind"], e["ref"]) for e in stored] == [  # oldest first
            ("locked", None),
            ("access_granted", "rsv_mq1"),
            ("access_denied", "rsv_mq1"),
        ]
        assert stored[0]["at"] == iso(T0)  # no time of its own: the hub's when it arrived
        assert stored[1]["at"] == iso(START)
        assert [e["kind"] for e in hub.get("events", ref="rsv_mq1").json()] == [
            "access_granted",
            "access_denied",
        ]
        assert sorted(e["kind"] for e in received.values()) == [
            "access_denied",
            "access_granted",
            "locked",
        ]
        assert {e["door"] for e in received.values()} == {door}
        assert hub.get("events", door=door, key=hub.other_key).json() == []  # tenant isolation
    finally:
        device.close()


def test_mqtt_events__relay_unlocked_by_the_hub__its_own_events_come_back(
    hub: HubWorld, relay: MqttRelay
) -> None:
    relay.clock = hub.clock.now  # the device's clock is the hub's
    door = _mqtt_site(hub, relay)
    hub.run_jobs()

    granted = hub.grant("rsv_pulse", operation="unlock", credential="pin", doors=[door],
                        valid_from=iso(T0 - timedelta(minutes=1)),
                        valid_to=iso(T0 + timedelta(seconds=1)), deliver_via=[])  # fmt: skip
    assert granted["doors"][0]["id"] == door
    hub.run_jobs()  # program_door: the relay opens until the window's end, then relocks itself

    wait_for(lambda: relay.states == [False, True], timeout=10)
    wait_for(lambda: [e["kind"] for e in _events(hub, door)] == ["unlocked", "locked"], timeout=10)
    assert {e["ref"] for e in _events(hub, door)} == {None}  # a relay knows no ref


def test_mqtt_event_of__device_id_scopes_dedup_by_door_and_a_bad_payload_is_none() -> None:
    def of(door: str, payload: bytes, seconds: int = 0) -> dict[str, Any] | None:
        return event_of(Received("site_1", door, payload, T0 + timedelta(seconds=seconds)))

    same_id = b'{"id": "7", "kind": "locked"}'
    first, again, elsewhere = of("a", same_id), of("a", same_id, 9), of("b", same_id)
    assert first is not None and again is not None and elsewhere is not None
    assert first["id"] == again["id"] != elsewhere["id"]
    timed = b'{"kind": "locked", "at": "2026-12-01T12:00:00Z"}'
    assert of("a", timed) == of("a", timed, 30)  # a redelivery of a timed event
    untimed = b'{"kind": "locked"}'
    assert of("a", untimed) != of("a", untimed, 30)  # two lockings, each kept
    assert [of("a", p) for p in (b"[1]", b"nope", b"x" * 5000)] == [None, None, None]
