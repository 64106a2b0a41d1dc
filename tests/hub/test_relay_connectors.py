"""What only the relay connectors do: the exact MQTT messages of each flavour, one connection
per broker, the device's own timer, and Shelly's RPC with digest authentication."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from hallkey.core.clock import ManualClock
from hallkey.hub.connectors import (
    ConnectorError,
    ConnectorRegistry,
    Credential,
    DoorTarget,
    UnknownConnector,
)
from hallkey.hub.connectors.mqtt import MqttConnector, tasmota_pulse_time
from hallkey.hub.connectors.mqtt_broker import BrokerAddress, MqttBrokers
from hallkey.hub.connectors.shelly import ShellyConnector, ShellyRelay
from hallkey.hub.domain import Window
from tests.hub.relays import (
    BROKER_URL,
    MQTT_TIMEOUT,
    MqttRelay,
    ShellyDevice,
    port_in_range,
    require_mosquitto,
    unique_prefix,
)
from tests.servers import serving, wait_for

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def registry() -> Iterator[ConnectorRegistry]:
    """A hub's connector registry, its MQTT connections closed afterwards."""
    built = ConnectorRegistry(ManualClock(T0), MQTT_TIMEOUT)
    yield built
    built.close()


def _relay(flavour: str) -> Iterator[MqttRelay]:
    require_mosquitto()
    prefix = unique_prefix()
    relay = MqttRelay(flavour, prefix, f"{prefix}-door").connect()
    try:
        yield relay
    finally:
        relay.remove()


@pytest.fixture
def hallkey_relay() -> Iterator[MqttRelay]:
    """A relay of hallkey's JSON flavour on the real Mosquitto."""
    yield from _relay("hallkey")


@pytest.fixture
def tasmota_relay() -> Iterator[MqttRelay]:
    """A Tasmota relay on the real Mosquitto."""
    yield from _relay("tasmota")


def _mqtt(registry: ConnectorRegistry, relay: MqttRelay) -> MqttConnector:
    config = {"broker": BROKER_URL, "flavour": relay.flavour, "prefix": relay.prefix}
    connector = registry.build("mqtt", config)
    assert isinstance(connector, MqttConnector)
    return connector


def _door(relay: MqttRelay) -> DoorTarget:
    return DoorTarget(id="door-1", remote_id=relay.door, site_id="site_1")


def test_mqtt_hallkey__pulse__is_one_qos1_json_command_and_the_relay_relocks_by_itself(
    registry: ConnectorRegistry, hallkey_relay: MqttRelay
) -> None:
    connector = _mqtt(registry, hallkey_relay)
    connector.pulse(_door(hallkey_relay), 1, "rsv_p1")
    wait_for(lambda: hallkey_relay.states[:1] == [False])

    registry.close()  # the hub goes away mid-pulse

    wait_for(lambda: hallkey_relay.states == [False, True], timeout=5)
    [(topic, payload)] = hallkey_relay.commands
    assert topic == f"{hallkey_relay.prefix}/{hallkey_relay.door}/command"
    command = json.loads(payload)
    assert command.keys() == {"id", "action", "seconds"}
    assert (command["action"], command["seconds"]) == ("pulse", 1)
    assert "rsv_p1" not in payload


def test_mqtt_hallkey__status__battery_from_the_retained_state(
    registry: ConnectorRegistry, hallkey_relay: MqttRelay
) -> None:
    status = _mqtt(registry, hallkey_relay).status(_door(hallkey_relay))
    assert (status.online, status.battery) == (True, 87)


def test_mqtt_tasmota__pulse__sets_pulsetime_then_power_on_and_the_device_ends_it(
    registry: ConnectorRegistry, tasmota_relay: MqttRelay
) -> None:
    connector = _mqtt(registry, tasmota_relay)
    connector.pulse(_door(tasmota_relay), 1, None)
    wait_for(lambda: tasmota_relay.states == [False, True], timeout=5)
    door = tasmota_relay.door
    assert tasmota_relay.commands == [
        (f"cmnd/{door}/PulseTime1", "10"),
        (f"cmnd/{door}/Power1", "ON"),
    ]
    assert connector.status(_door(tasmota_relay)).battery is None


def test_tasmota_pulse_time__tenths_up_to_eleven_seconds_then_a_hundred_plus_seconds() -> None:
    assert [tasmota_pulse_time(s) for s in (1, 5, 11, 12, 60)] == [10, 50, 110, 112, 160]


def test_mqtt__sites_on_one_broker__share_one_connection(registry: ConnectorRegistry) -> None:
    first = registry.build("mqtt", {"broker": BROKER_URL, "prefix": "a"})
    second = registry.build("mqtt", {"broker": BROKER_URL, "prefix": "b", "flavour": "tasmota"})
    other = registry.build("mqtt", {"broker": "mqtt://hub:pw@127.0.0.1:1883", "prefix": "a"})
    assert isinstance(first, MqttConnector) and isinstance(second, MqttConnector)
    assert isinstance(other, MqttConnector)
    assert first.broker is second.broker
    assert other.broker is not first.broker


def test_mqtt__broker_unreachable__is_door_offline_and_retryable() -> None:
    clock = ManualClock(T0)
    brokers = MqttBrokers(clock, 0.5)
    address = BrokerAddress.parse(f"mqtt://127.0.0.1:{port_in_range()}")
    connector = MqttConnector(brokers.get(address), "hallkey", "hk-doors-test-x", clock)
    door = DoorTarget(id="d", remote_id="d", site_id="s")
    try:
        for call in (lambda: connector.status(door), lambda: connector.pulse(door, 2, None)):
            with pytest.raises(ConnectorError) as error:
                call()
            assert (error.value.code, error.value.retryable) == ("door_offline", True)
    finally:
        brokers.close()


@pytest.mark.parametrize(
    ("name", "config"),
    [
        ("mqtt", {"broker": "http://127.0.0.1:1883"}),
        ("mqtt", {"broker": "mqtt://127.0.0.1:notaport"}),
        ("mqtt", {"broker": BROKER_URL, "flavour": "zigbee"}),
        ("mqtt", {"broker": BROKER_URL, "prefix": "a/#"}),
        ("shelly", {"doors": "not json"}),
        ("shelly", {"doors": '{"d": {"url": "ftp://x", "switch_id": 0}}'}),
        ("shelly", {"doors": '{"d": {"url": "http://10.0.0.9", "switch_id": "0"}}'}),
    ],
)
def test_registry__bad_relay_config__is_unknown_connector(
    registry: ConnectorRegistry, name: str, config: dict[str, str]
) -> None:
    with pytest.raises(UnknownConnector):
        registry.build(name, config)


def test_shelly__from_site_config__pulses_with_toggle_after_and_the_relay_ends_it(
    registry: ConnectorRegistry,
) -> None:
    device = ShellyDevice(password=None)
    with serving(device.app, port_in_range()) as server:
        config = {"doors": json.dumps({"front": {"url": server.base_url, "switch_id": 0}})}
        connector = registry.build("shelly", config)
        door = DoorTarget(id="door-1", remote_id="front", site_id="s")
        connector.pulse(door, 1, "rsv_s1")
        assert device.output(0)
        assert device.calls == [
            {"id": 1, "method": "Switch.Set", "params": {"id": 0, "on": True, "toggle_after": 1}}
        ]
        deadline = time.monotonic() + 3
        while device.output(0) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not device.output(0)
        assert connector.status(door).online


def test_shelly__wrong_password__is_door_offline_until_an_operator_mends_it() -> None:
    device = ShellyDevice(password="right")
    with serving(device.app, port_in_range()) as server:
        connector = ShellyConnector(
            {"front": ShellyRelay(server.base_url, "wrong", 0)}, ManualClock(T0), 2.0
        )
        with pytest.raises(ConnectorError) as error:
            connector.pulse(DoorTarget(id="d", remote_id="front", site_id="s"), 2, None)
        assert (error.value.code, error.value.retryable) == ("door_offline", True)
        assert device.calls == []
        assert not device.output(0)


def test_shelly__pulse__returns_the_relock_time_from_the_hubs_clock() -> None:
    device = ShellyDevice(password="pw")
    clock = ManualClock(T0)
    with serving(device.app, port_in_range()) as server:
        connector = ShellyConnector({"front": ShellyRelay(server.base_url, "pw", 0)}, clock, 2.0)
        until = connector.pulse(DoorTarget(id="d", remote_id="front", site_id="s"), 7, None)
    assert until == T0 + timedelta(seconds=7)


def _unlock(start: datetime, end: datetime) -> Credential:
    return Credential("unlock", None, (Window(start, end),), version=1)


def test_mqtt_hallkey__unlock_in_its_window__opens_until_the_end_and_the_relay_relocks_itself(
    registry: ConnectorRegistry, hallkey_relay: MqttRelay
) -> None:
    clock = registry.clock
    assert isinstance(clock, ManualClock)
    hallkey_relay.clock = clock.now
    connector = _mqtt(registry, hallkey_relay)
    assert connector.capabilities == frozenset({"pulse", "schedule"})
    assert connector.keeps_schedules is False
    end = T0 + timedelta(seconds=1)
    connector.program(_door(hallkey_relay), "rsv_open", _unlock(T0 - timedelta(hours=1), end))
    wait_for(lambda: hallkey_relay.states[:1] == [False])

    registry.close()  # the hub goes away while the door stands open

    wait_for(lambda: hallkey_relay.states == [False, True], timeout=5)
    [(_, payload)] = hallkey_relay.commands
    command = json.loads(payload)
    assert command.keys() == {"id", "action", "until"}
    assert (command["action"], command["until"]) == ("unlock", "2026-12-01T12:00:01Z")


def test_mqtt_hallkey__unlock_before_its_window__sends_nothing_yet(
    registry: ConnectorRegistry, hallkey_relay: MqttRelay
) -> None:
    connector = _mqtt(registry, hallkey_relay)
    start = T0 + timedelta(hours=1)
    connector.program(_door(hallkey_relay), "rsv_open", _unlock(start, start + timedelta(hours=2)))
    connector.status(_door(hallkey_relay))  # a round trip after the program call
    assert hallkey_relay.commands == []
    with pytest.raises(ConnectorError) as error:
        connector.program(
            DoorTarget(id="x", remote_id=f"{hallkey_relay.prefix}-x", site_id="s"),
            "rsv_open",
            _unlock(start, start + timedelta(hours=2)),
        )
    assert error.value.code == "unknown_door"


def test_mqtt_hallkey__revoke_while_open__locks_at_once(
    registry: ConnectorRegistry, hallkey_relay: MqttRelay
) -> None:
    hallkey_relay.clock = registry.clock.now
    connector = _mqtt(registry, hallkey_relay)
    door = _door(hallkey_relay)
    connector.program(door, "rsv_open", _unlock(T0, T0 + timedelta(hours=2)))
    wait_for(lambda: hallkey_relay.states == [False])
    # The hub reads the door's retained state to see it open before it locks it.
    wait_for(lambda: _state_locked(connector, door) is False)

    connector.revoke(door, "rsv_open", 2)

    wait_for(lambda: hallkey_relay.states == [False, True])
    assert [json.loads(p)["action"] for _, p in hallkey_relay.commands] == ["unlock", "lock"]


def _state_locked(connector: MqttConnector, door: DoorTarget) -> bool | None:
    state = connector.broker.latest(f"{connector.prefix}/{door.remote_id}/state")
    return None if state is None else bool(json.loads(state.payload)["locked"])


def test_mqtt_tasmota__unlock_schedule__is_unsupported(
    registry: ConnectorRegistry, tasmota_relay: MqttRelay
) -> None:
    connector = _mqtt(registry, tasmota_relay)
    assert "schedule" not in connector.capabilities
    with pytest.raises(ConnectorError) as error:
        connector.program(_door(tasmota_relay), "rsv_open", _unlock(T0, T0 + timedelta(hours=1)))
    assert (error.value.code, error.value.retryable) == ("unsupported", False)
    assert tasmota_relay.commands == []
