"""One contract for every lock connector, run against each implementation.

To add an implementation, teach `_case` to build a `ConnectorCase` for it — the connector, a
door it knows, a door it does not, the lock system's "now", and a way to take the door offline —
and add its name to `any_case` (every connector) and to `case` (those that store credentials),
`relay_case` (pulse-only relays) or `scheduling_case` (those that keep unlock schedules), and
to `unlocking_case` if it has `schedule` (with `door_locked`, the device's own lock state).
MQTT runs against the real Mosquitto with a simulated relay; Shelly against a local relay.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update

from hallkey.core.clock import ManualClock
from hallkey.core.http import PeerError
from hallkey.core.settings import Settings
from hallkey.core.web import create_app
from hallkey.hub.connectors import (
    ConnectorError,
    Credential,
    DoorTarget,
    LockConnector,
    MemoryConnector,
    MemoryLockSystem,
)
from hallkey.hub.connectors.base import (
    ALL_CAPABILITIES,
    ERROR_CODES,
    STORE_CREDENTIALS,
    DoorOutcomes,
    ManyDoorsConnector,
    program_each,
    revoke_each,
)
from hallkey.hub.connectors.controller import ControllerConnector
from hallkey.hub.connectors.mqtt import MqttConnector
from hallkey.hub.connectors.mqtt_broker import BrokerAddress, MqttBrokers
from hallkey.hub.connectors.shelly import ShellyConnector, ShellyRelay
from hallkey.hub.domain import Window
from hallkey.locks import build_part as locks_part
from hallkey.locks import create_context as locks_context
from hallkey.locks import create_controller, create_door
from hallkey.locks.models import Door as LocksDoor
from tests.hub.relays import (
    BROKER_URL,
    MQTT_TIMEOUT,
    MqttRelay,
    ShellyDevice,
    port_in_range,
    require_mosquitto,
    unique_prefix,
)
from tests.servers import ServerThread, free_port, wait_for

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@dataclass
class ConnectorCase:
    """A connector under test and what the contract needs around it."""

    connector: LockConnector
    door: DoorTarget
    unknown_door: DoorTarget
    now: Callable[[], datetime]
    set_online: Callable[[bool], None] | None = None
    clock: ManualClock | None = None
    set_capacity: Callable[[int], None] | None = None
    """Sets how many credentials the door holds at most."""
    door_locked: Callable[[], bool] | None = None
    """Tells whether the door stands locked now, as the device itself sees it."""
    other_door: DoorTarget | None = None
    """Another door of the site's lock system, known to it by the hub's id (`set_online` takes
    it offline too)."""


def _memory_case() -> ConnectorCase:
    clock = ManualClock(datetime(2026, 12, 1, 12, 0, tzinfo=UTC))
    system = MemoryLockSystem(clock)
    system.add_door("remote-1")
    system.add_door("remote-3")

    def set_online(online: bool) -> None:
        for remote_id in ("remote-1", "remote-3"):
            system.set_online(remote_id, online)

    return ConnectorCase(
        connector=MemoryConnector(system),
        door=DoorTarget(id="door-1", remote_id="remote-1", site_id="site_1"),
        unknown_door=DoorTarget(id="door-2", remote_id="remote-404", site_id="site_1"),
        now=clock.now,
        set_online=set_online,
        clock=clock,
        set_capacity=lambda most: setattr(system, "max_credentials", most),
        other_door=DoorTarget(id="remote-3", remote_id="remote-3", site_id="site_1"),
    )


@contextmanager
def _controller_case(data_dir: Path) -> Iterator[ConnectorCase]:
    """The controller connector over real HTTP, against a real door controller on loopback."""
    clock = ManualClock(datetime(2026, 12, 1, 12, 0, tzinfo=UTC))
    settings = Settings(
        data_dir=data_dir,
        locks_database_url=f"sqlite:///{data_dir / 'locks.db'}",
        secret_key="connector-contract",
    )
    locks = locks_context(settings, clock)
    with locks.database.transaction() as session:
        controller_id, key = create_controller(locks, session, name="Contract")
        create_door(locks, session, controller_id=controller_id, name="Door", door_id="remote-1")
        create_door(locks, session, controller_id=controller_id, name="Back", door_id="remote-3")
    server = ServerThread(create_app([locks_part(locks)], run_workers=False)).start()

    def set_online(online: bool) -> None:
        if online:
            server.start()
        else:
            server.stop()

    def door_locked() -> bool:
        headers = {"Authorization": f"Bearer {key}"}
        answer = httpx.get(f"{server.base_url}/locks/v1/doors/remote-1", headers=headers)
        assert answer.status_code == 200, answer.text
        return bool(answer.json()["locked"])

    def set_capacity(most: int) -> None:
        with locks.database.transaction() as session:
            session.execute(
                update(LocksDoor).where(LocksDoor.id == "remote-1").values(max_credentials=most)
            )

    try:
        yield ConnectorCase(
            # Generous: a loaded machine may be slow to answer a fresh server's first call.
            connector=ControllerConnector(server.base_url, key, 30.0),
            door=DoorTarget(id="door-1", remote_id="remote-1", site_id="site_1"),
            unknown_door=DoorTarget(id="door-2", remote_id="remote-404", site_id="site_1"),
            now=clock.now,
            set_online=set_online,
            clock=clock,
            set_capacity=set_capacity,
            door_locked=door_locked,
            other_door=DoorTarget(id="remote-3", remote_id="remote-3", site_id="site_1"),
        )
    finally:
        server.stop()
        locks.close()


@contextmanager
def _mqtt_case(flavour: str) -> Iterator[ConnectorCase]:
    """The MQTT connector on the real Mosquitto, with a simulated relay that obeys it."""
    require_mosquitto()
    clock = ManualClock(T0)
    prefix = unique_prefix()
    door_id = f"{prefix}-door1"
    relay = MqttRelay(flavour, prefix, door_id, clock=clock.now).connect()
    brokers = MqttBrokers(clock, MQTT_TIMEOUT)
    connector = MqttConnector(brokers.get(BrokerAddress.parse(BROKER_URL)), flavour, prefix, clock)
    door = DoorTarget(id="door-1", remote_id=door_id, site_id="site_1")

    def set_online(online: bool) -> None:
        if online:
            relay.connect()
        else:
            relay.drop()  # the broker publishes the relay's last will
        wait_for(lambda: connector.status(door).online is online)

    try:
        yield ConnectorCase(
            connector=connector,
            door=door,
            unknown_door=DoorTarget(id="door-2", remote_id=f"{prefix}-nowhere", site_id="site_1"),
            now=clock.now,
            set_online=set_online,
            door_locked=lambda: relay.locked,
        )
    finally:
        brokers.close()
        relay.remove()


@contextmanager
def _shelly_case() -> Iterator[ConnectorCase]:
    """The Shelly connector against a local relay speaking Gen2 RPC with digest auth."""
    clock = ManualClock(T0)
    device = ShellyDevice(password="relay-secret")
    server = ServerThread(device.app, port_in_range()).start()
    relays = {
        "relay-1": ShellyRelay(server.base_url, "relay-secret", 0),
        "relay-9": ShellyRelay(server.base_url, "relay-secret", 9),  # no such switch
    }

    def set_online(online: bool) -> None:
        if online:
            server.start()
        else:
            server.stop()

    try:
        yield ConnectorCase(
            connector=ShellyConnector(relays, clock, 2.0),
            door=DoorTarget(id="door-1", remote_id="relay-1", site_id="site_1"),
            unknown_door=DoorTarget(id="door-2", remote_id="relay-9", site_id="site_1"),
            now=clock.now,
            set_online=set_online,
        )
    finally:
        server.stop()


@contextmanager
def _case(name: str, data_dir: Path) -> Iterator[ConnectorCase]:
    if name == "memory":
        yield _memory_case()
    elif name == "controller":
        with _controller_case(data_dir) as controller:
            yield controller
    elif name == "shelly":
        with _shelly_case() as shelly:
            yield shelly
    else:
        with _mqtt_case(name.removeprefix("mqtt-")) as mqtt:
            yield mqtt


@pytest.fixture(params=["memory", "controller", "mqtt-hallkey", "mqtt-tasmota", "shelly"])
def any_case(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ConnectorCase]:
    """Yields each connector implementation in turn."""
    with _case(str(request.param), tmp_path) as case:
        yield case


@pytest.fixture(params=["memory", "controller"])
def case(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ConnectorCase]:
    """Yields each connector that stores credentials (`store_credentials`) in turn."""
    with _case(str(request.param), tmp_path) as case:
        assert STORE_CREDENTIALS in case.connector.capabilities
        yield case


@pytest.fixture(params=["mqtt-hallkey", "mqtt-tasmota", "shelly"])
def relay_case(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ConnectorCase]:
    """Yields each connector of pulse-only relays in turn."""
    with _case(str(request.param), tmp_path) as case:
        yield case


def _pin(case: ConnectorCase, code: str, hours: tuple[int, int] = (1, 2)) -> Credential:
    now = case.now()
    window = Window(now + timedelta(hours=hours[0]), now + timedelta(hours=hours[1]))
    return Credential(type="pin", code=code, windows=(window,))


def _versioned(credential: Credential, version: int) -> Credential:
    return Credential(credential.type, credential.code, credential.windows, version=version)


def test_connector__declares_known_capabilities(any_case: ConnectorCase) -> None:
    assert any_case.connector.capabilities <= ALL_CAPABILITIES


def test_connector__program_is_idempotent_and_replaces(case: ConnectorCase) -> None:
    case.connector.program(case.door, "rsv_c1", _pin(case, "482915"))
    case.connector.program(case.door, "rsv_c1", _pin(case, "482915"))
    case.connector.program(case.door, "rsv_c1", _pin(case, "551937", (3, 4)))
    # The old code of rsv_c1 is free again for another ref.
    case.connector.program(case.door, "rsv_c2", _pin(case, "482915"))


def test_connector__same_code_for_another_ref_at_overlapping_time__is_code_rejected(
    case: ConnectorCase,
) -> None:
    case.connector.program(case.door, "rsv_c1", _pin(case, "739104"))
    with pytest.raises(ConnectorError) as error:
        case.connector.program(case.door, "rsv_c2", _pin(case, "739104", (1, 3)))
    assert error.value.code == "code_rejected"
    assert not error.value.retryable
    # Not overlapping: allowed.
    case.connector.program(case.door, "rsv_c3", _pin(case, "739104", (2, 3)))


def test_connector__revoke_is_idempotent_also_for_an_unknown_ref(case: ConnectorCase) -> None:
    case.connector.revoke(case.door, "rsv_never")
    case.connector.program(case.door, "rsv_c1", _pin(case, "604918"))
    case.connector.revoke(case.door, "rsv_c1")
    case.connector.revoke(case.door, "rsv_c1")
    # A revoked code no longer blocks another ref; programming at a newer version un-revokes.
    case.connector.program(case.door, "rsv_c2", _pin(case, "604918"))
    case.connector.program(case.door, "rsv_c1", _versioned(_pin(case, "604919"), 1))
    assert {c.ref for c in case.connector.live_credentials(case.door)} == {"rsv_c1", "rsv_c2"}


def test_connector__pulse_returns_when_the_door_relocks(any_case: ConnectorCase) -> None:
    case = any_case
    before = case.now()
    until = case.connector.pulse(case.door, 5, "rsv_c1")
    assert until.tzinfo is not None
    assert before + timedelta(seconds=4) <= until <= case.now() + timedelta(seconds=6)


def test_connector__status_of_a_known_door(any_case: ConnectorCase) -> None:
    status = any_case.connector.status(any_case.door)
    assert status.online is True


def test_connector__live_credentials__are_those_that_can_still_open_the_door(
    case: ConnectorCase,
) -> None:
    now = case.now()
    assert case.connector.live_credentials(case.door) == []
    series = (
        Window(now - timedelta(days=7), now - timedelta(days=7) + timedelta(hours=1)),
        Window(now + timedelta(hours=1), now + timedelta(hours=2)),
    )
    case.connector.program(case.door, "rsv_series", Credential("pin", "318274", series))
    case.connector.program(case.door, "rsv_soon", _pin(case, "902175"))
    ended = (Window(now - timedelta(hours=3), now - timedelta(hours=2)),)
    case.connector.program(case.door, "rsv_ended", Credential("pin", "731952", ended))
    case.connector.program(case.door, "rsv_gone", _pin(case, "640283"))
    case.connector.revoke(case.door, "rsv_gone")

    held = {c.ref: c.windows for c in case.connector.live_credentials(case.door)}
    assert held == {"rsv_series": series, "rsv_soon": _pin(case, "902175").windows}


def test_connector__live_credentials_a_page_at_a_time__are_all_of_them_by_ref(
    case: ConnectorCase,
) -> None:
    refs = ["rsv_b", "rsv_e", "rsv_a", "rsv_d", "rsv_c"]
    for n, ref in enumerate(refs):
        case.connector.program(case.door, ref, _pin(case, f"81520{n}"))
    case.connector.revoke(case.door, "rsv_c")
    everything = case.connector.live_credentials(case.door)

    pages: list[list[str]] = []
    after: str | None = None
    while True:
        page = case.connector.live_credentials(case.door, after=after, limit=2)
        pages.append([credential.ref for credential in page])
        if len(page) < 2:
            break
        after = page[-1].ref

    assert [credential.ref for credential in everything] == ["rsv_a", "rsv_b", "rsv_d", "rsv_e"]
    assert pages == [["rsv_a", "rsv_b"], ["rsv_d", "rsv_e"], []]


def test_connector__unknown_door__is_unknown_door_and_final(any_case: ConnectorCase) -> None:
    case = any_case
    calls: list[Callable[[], object]] = [
        lambda: case.connector.pulse(case.unknown_door, 5, None),
        lambda: case.connector.status(case.unknown_door),
    ]
    if STORE_CREDENTIALS in case.connector.capabilities:
        calls += [
            lambda: case.connector.program(case.unknown_door, "rsv_c1", _pin(case, "482915")),
            lambda: case.connector.revoke(case.unknown_door, "rsv_c1"),
            lambda: case.connector.live_credentials(case.unknown_door),
        ]
    for call in calls:
        with pytest.raises(ConnectorError) as error:
            call()
        assert error.value.code == "unknown_door"
        assert not error.value.retryable
        assert error.value.code in ERROR_CODES


def test_connector__offline_door__is_door_offline_and_retryable(any_case: ConnectorCase) -> None:
    case = any_case
    assert case.set_online is not None
    stores = STORE_CREDENTIALS in case.connector.capabilities

    def act() -> None:
        if stores:
            case.connector.program(case.door, "rsv_c1", _pin(case, "482915"))
        else:
            case.connector.pulse(case.door, 2, "rsv_c1")

    case.set_online(False)
    try:
        with pytest.raises(ConnectorError) as error:
            act()
        assert error.value.code == "door_offline"
        assert error.value.retryable
        # Its health reads as offline too: either said so, or not reachable at all.
        try:
            assert case.connector.status(case.door).online is False
        except ConnectorError as status_error:
            assert (status_error.code, status_error.retryable) == ("door_offline", True)
    finally:
        case.set_online(True)
    act()
    assert case.connector.status(case.door).online is True


def test_relay_connector__keeps_no_credentials__pins_and_listing_are_unsupported(
    relay_case: ConnectorCase,
) -> None:
    case = relay_case
    assert STORE_CREDENTIALS not in case.connector.capabilities
    assert "pulse" in case.connector.capabilities
    calls: list[Callable[[], object]] = [
        lambda: case.connector.program(case.door, "rsv_c1", _pin(case, "482915")),
        lambda: case.connector.live_credentials(case.door),
    ]
    if "schedule" not in case.connector.capabilities:
        calls.append(lambda: case.connector.revoke(case.door, "rsv_c1", 1))
    for call in calls:
        with pytest.raises(ConnectorError) as error:
            call()
        assert (error.value.code, error.value.retryable) == ("unsupported", False)


def test_connector__full_door__no_space_counting_live_credentials_only(
    case: ConnectorCase,
) -> None:
    assert case.clock is not None and case.set_capacity is not None
    case.set_capacity(2)
    now = case.now()
    soon = (Window(now, now + timedelta(hours=1)),)
    later = (Window(now + timedelta(hours=3), now + timedelta(hours=4)),)
    case.connector.program(case.door, "rsv_c1", Credential("pin", "111222", soon, version=1))
    case.connector.program(case.door, "rsv_c2", Credential("pin", "333444", later, version=1))
    case.connector.program(case.door, "rsv_c2", Credential("pin", "333445", later, version=2))
    with pytest.raises(ConnectorError) as error:
        case.connector.program(case.door, "rsv_c3", Credential("pin", "555666", later, version=1))
    assert (error.value.code, error.value.retryable) == ("no_space_on_door", False)

    case.clock.advance(timedelta(hours=2))  # rsv_c1 has ended: its place is free again
    case.connector.program(case.door, "rsv_c3", Credential("pin", "555666", later, version=1))
    with pytest.raises(ConnectorError):
        case.connector.program(case.door, "rsv_c4", Credential("pin", "777888", later, version=1))
    case.connector.revoke(case.door, "rsv_c2", 3)  # and so is a revoked one's
    case.connector.program(case.door, "rsv_c4", Credential("pin", "777888", later, version=1))
    assert sorted(h.ref for h in case.connector.live_credentials(case.door)) == [
        "rsv_c3",
        "rsv_c4",
    ]


def test_memory_lock__full_door__is_no_space_on_door() -> None:
    clock = ManualClock(datetime(2026, 12, 1, 12, 0, tzinfo=UTC))
    system = MemoryLockSystem(clock, max_credentials=2)
    system.add_door("d")
    connector = MemoryConnector(system)
    door = DoorTarget(id="d", remote_id="d", site_id="s")
    window = (Window(clock.now(), clock.now() + timedelta(hours=1)),)
    connector.program(door, "r1", Credential("pin", "111222", window))
    connector.program(door, "r2", Credential("pin", "333444", window))
    connector.program(door, "r2", Credential("pin", "333445", window))  # replacing fits
    with pytest.raises(ConnectorError) as error:
        connector.program(door, "r3", Credential("pin", "555666", window))
    assert error.value.code == "no_space_on_door"


def test_memory_connector__without_a_capability__is_unsupported() -> None:
    system = MemoryLockSystem(ManualClock(datetime(2026, 12, 1, tzinfo=UTC)))
    system.add_door("d")
    connector = MemoryConnector(system, frozenset({"pulse"}))
    door = DoorTarget(id="d", remote_id="d", site_id="s")
    with pytest.raises(ConnectorError) as error:
        connector.program(door, "r1", Credential("pin", "123987", ()))
    assert error.value.code == "unsupported"
    connector.pulse(door, 3, None)


def test_controller_connector__unreachable_controller__is_door_offline() -> None:
    connector = ControllerConnector(f"http://127.0.0.1:{free_port()}", "lck_x.y", 1.0)
    door = DoorTarget(id="d", remote_id="d", site_id="s")
    with pytest.raises(ConnectorError) as error:
        connector.status(door)
    assert error.value.code == "door_offline"
    assert error.value.retryable


def test_connector__late_program_after_a_newer_revoke__changes_nothing(
    case: ConnectorCase,
) -> None:
    old = _pin(case, "318275")
    first = Credential(old.type, old.code, old.windows, version=1)
    case.connector.program(case.door, "rsv_late", first)
    case.connector.revoke(case.door, "rsv_late", 2)
    case.connector.program(case.door, "rsv_late", first)  # held up on the way
    assert case.connector.live_credentials(case.door) == []
    newer = Credential(old.type, old.code, old.windows, version=3)
    case.connector.program(case.door, "rsv_late", newer)
    assert [c.ref for c in case.connector.live_credentials(case.door)] == ["rsv_late"]


@pytest.mark.parametrize("order", ["program_first", "revoke_first"])
def test_connector__equal_versions__revoke_wins_whichever_order_they_arrive_in(
    case: ConnectorCase, order: str
) -> None:
    # The reconciler's re-push and a revocation may both carry the grant-door's version 4.
    pin = _versioned(_pin(case, "527391", (-1, 2)), 4)
    case.connector.program(case.door, "rsv_eq", _versioned(pin, 3))
    if order == "program_first":
        case.connector.program(case.door, "rsv_eq", pin)
        case.connector.revoke(case.door, "rsv_eq", 4)
    else:
        case.connector.revoke(case.door, "rsv_eq", 4)
        case.connector.program(case.door, "rsv_eq", pin)
    assert case.connector.live_credentials(case.door) == []
    case.connector.program(case.door, "rsv_eq", _versioned(pin, 5))  # a newer grant: back again
    assert [c.ref for c in case.connector.live_credentials(case.door)] == ["rsv_eq"]


@pytest.mark.parametrize("ref", [".", "..", "a b", "rsv_1?", "-rsv", "r" * 65])
def test_connector__not_a_ref__is_refused_for_good_and_the_door_is_untouched(
    case: ConnectorCase, ref: str
) -> None:
    case.connector.program(case.door, "rsv_kept", _pin(case, "604918"))
    calls: list[Callable[[], object]] = [
        lambda: case.connector.program(case.door, ref, _pin(case, "604919")),
        lambda: case.connector.revoke(case.door, ref, 9),
    ]
    for call in calls:
        with pytest.raises(ConnectorError) as error:
            call()
        assert (error.value.code, error.value.retryable) == ("unsupported", False)
    assert [c.ref for c in case.connector.live_credentials(case.door)] == ["rsv_kept"]


def test_controller_connector__dot_segment_ref__reaches_the_controller_and_is_its_422(
    tmp_path: Path,
) -> None:
    with _controller_case(tmp_path) as case:
        for ref in (".", ".."):
            calls: list[Callable[[], object]] = [
                partial(case.connector.program, case.door, ref, _pin(case, "604919")),
                partial(case.connector.revoke, case.door, ref, 9),
            ]
            for call in calls:
                with pytest.raises(ConnectorError) as error:
                    call()
                # Not the 405 of the door's own path, which an unquoted `..` resolves to.
                cause = error.value.__cause__
                assert isinstance(cause, PeerError) and cause.status == 422, cause
                assert cause.code == "invalid"


@pytest.fixture(params=["controller"])
def scheduling_case(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ConnectorCase]:
    """Yields each connector that keeps unlock schedules (`schedule`) in turn."""
    with _case(str(request.param), tmp_path) as case:
        assert "schedule" in case.connector.capabilities
        yield case


def test_connector__unlock_schedule__is_held_moved_and_revoked_like_a_credential(
    scheduling_case: ConnectorCase,
) -> None:
    case = scheduling_case
    now = case.now()
    first = (Window(now + timedelta(hours=1), now + timedelta(hours=2)),)
    moved = (Window(now + timedelta(hours=3), now + timedelta(hours=4)),)
    case.connector.program(case.door, "rsv_open", Credential("unlock", None, first, version=1))
    assert [(c.ref, c.windows) for c in case.connector.live_credentials(case.door)] == [
        ("rsv_open", first)
    ]
    case.connector.program(case.door, "rsv_open", Credential("unlock", None, moved, version=2))
    case.connector.program(case.door, "rsv_open", Credential("unlock", None, first, version=1))
    assert [c.windows for c in case.connector.live_credentials(case.door)] == [moved]
    case.connector.revoke(case.door, "rsv_open", 3)
    assert case.connector.live_credentials(case.door) == []


def test_connector__unlock_schedule_with_a_code__is_unsupported(
    scheduling_case: ConnectorCase,
) -> None:
    case = scheduling_case
    window = (Window(case.now(), case.now() + timedelta(hours=1)),)
    with pytest.raises(ConnectorError) as error:
        case.connector.program(case.door, "rsv_open", Credential("unlock", "482915", window))
    assert (error.value.code, error.value.retryable) == ("unsupported", False)


@pytest.fixture(params=["controller", "mqtt-hallkey"])
def unlocking_case(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ConnectorCase]:
    """Yields each connector that can hold a door unlocked for a window (`schedule`), whether
    it keeps the whole schedule or takes one opening at a time (`keeps_schedules`)."""
    with _case(str(request.param), tmp_path) as case:
        assert "schedule" in case.connector.capabilities
        yield case


def test_connector__unlock_schedule__door_stands_open_in_its_window_and_a_revoke_locks_it(
    unlocking_case: ConnectorCase,
) -> None:
    case = unlocking_case
    assert case.door_locked is not None
    now = case.now()
    later = (Window(now + timedelta(hours=1), now + timedelta(hours=2)),)
    holding = (Window(now - timedelta(minutes=5), now + timedelta(hours=1)),)

    case.connector.program(case.door, "rsv_open", Credential("unlock", None, later, version=1))
    case.connector.status(case.door)  # a round trip after the program call
    assert case.door_locked() is True
    case.connector.program(case.door, "rsv_open", Credential("unlock", None, holding, version=2))
    wait_for(lambda: case.door_locked() is False)

    case.connector.revoke(case.door, "rsv_open", 3)
    wait_for(lambda: case.door_locked() is True)


def test_connector__unlock_schedule_revoked_before_its_window__door_stays_locked_in_it(
    scheduling_case: ConnectorCase,
) -> None:
    case = scheduling_case
    assert case.door_locked is not None and case.clock is not None
    start = case.now() + timedelta(hours=1)
    window = (Window(start, start + timedelta(hours=1)),)
    case.connector.program(case.door, "rsv_open", Credential("unlock", None, window, version=1))
    case.clock.set(start)
    assert case.door_locked() is False  # the schedule runs on the lock system's own clock
    case.clock.set(start - timedelta(minutes=30))

    case.connector.revoke(case.door, "rsv_open", 2)  # a cancel before the event

    case.clock.set(start)
    assert case.door_locked() is True


def _codes(outcomes: DoorOutcomes) -> dict[str, tuple[str, bool] | None]:
    """Each door's outcome as `(code, retryable)`, or None for a door that took the change."""
    return {
        door: None if error is None else (error.code, error.retryable)
        for door, error in outcomes.items()
    }


def test_connector__program_each_and_revoke_each__change_every_door_and_name_an_unknown_one(
    case: ConnectorCase,
) -> None:
    assert case.other_door is not None
    door, unknown, other = case.door, case.unknown_door, case.other_door
    pin = _versioned(_pin(case, "482915"), 1)
    expected = {door.id: None, unknown.id: ("unknown_door", False), other.id: None}
    for _ in range(2):  # again: idempotent
        outcomes = program_each(case.connector, [door, unknown, other], "rsv_m", pin)
        assert list(outcomes) == [door.id, unknown.id, other.id]
        assert _codes(outcomes) == expected
        for target in (door, other):
            held = case.connector.live_credentials(target)
            assert [(c.ref, c.windows, c.version) for c in held] == [("rsv_m", pin.windows, 1)]

    revoked = revoke_each(case.connector, [other, unknown, door], "rsv_m", 2)
    assert list(revoked) == [other.id, unknown.id, door.id]
    assert _codes(revoked) == expected
    assert case.connector.live_credentials(door) == case.connector.live_credentials(other) == []
    never = revoke_each(case.connector, [door, other], "rsv_never", 1)
    assert _codes(never) == {door.id: None, other.id: None}


def test_connector__program_each__a_refused_door_keeps_what_it_held_the_others_take_it(
    case: ConnectorCase,
) -> None:
    assert case.other_door is not None and case.set_capacity is not None
    door, other = case.door, case.other_door
    case.set_capacity(1)
    case.connector.program(door, "rsv_c0", _pin(case, "739104"))
    full = program_each(case.connector, [other, door], "rsv_c1", _pin(case, "551937"))
    assert _codes(full) == {other.id: None, door.id: ("no_space_on_door", False)}
    assert [c.ref for c in case.connector.live_credentials(door)] == ["rsv_c0"]

    case.set_capacity(10)
    clash = program_each(case.connector, [door, other], "rsv_c2", _pin(case, "739104", (0, 3)))
    assert _codes(clash) == {door.id: ("code_rejected", False), other.id: None}
    assert [c.ref for c in case.connector.live_credentials(door)] == ["rsv_c0"]
    assert sorted(c.ref for c in case.connector.live_credentials(other)) == ["rsv_c1", "rsv_c2"]


def test_connector__program_each_offline__every_door_is_door_offline_and_retryable(
    case: ConnectorCase,
) -> None:
    assert case.other_door is not None and case.set_online is not None
    doors = [case.door, case.other_door]
    offline = {door.id: ("door_offline", True) for door in doors}
    case.set_online(False)
    try:
        assert _codes(program_each(case.connector, doors, "rsv_o", _pin(case, "604918"))) == offline
        assert _codes(revoke_each(case.connector, doors, "rsv_o", 1)) == offline
    finally:
        case.set_online(True)
    taken = program_each(case.connector, doors, "rsv_o", _pin(case, "604918"))
    assert _codes(taken) == {door.id: None for door in doors}


def test_connector__program_each__not_a_ref__is_every_doors_refusal(case: ConnectorCase) -> None:
    assert case.other_door is not None
    doors = [case.door, case.other_door]
    for ref in ("..", "a b"):
        outcomes = program_each(case.connector, doors, ref, _pin(case, "604918"))
        assert _codes(outcomes) == {door.id: ("unsupported", False) for door in doors}
        assert _codes(revoke_each(case.connector, doors, ref, 1)) == _codes(outcomes)
    assert case.connector.live_credentials(case.door) == []


def test_controller_connector__is_a_many_doors_connector(tmp_path: Path) -> None:
    with _controller_case(tmp_path) as case:
        assert isinstance(case.connector, ManyDoorsConnector)
