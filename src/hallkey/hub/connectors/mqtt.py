"""Relays and locks reached through an MQTT broker, in hallkey's JSON flavour or Tasmota's.

Site config: `{"broker": "mqtt://user:pass@host:1883", "flavour": "hallkey"|"tasmota",
"prefix"}`. A door is known once the broker holds a retained message for it (its state or
last will), so a typo in a door's id is `unknown_door`, not a pulse into the void.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hallkey.core.clock import Clock
from hallkey.hub.connectors.base import (
    PULSE,
    SCHEDULE,
    ConnectorError,
    Credential,
    DoorStatus,
    DoorTarget,
    HeldCredential,
)
from hallkey.hub.connectors.mqtt_broker import MqttBroker

EventSink = Callable[[str, bytes], None]
"""Takes a door's remote id and the raw payload of an event the device published."""

FLAVOURS = ("hallkey", "tasmota")
# A door id is one topic level: no wildcards, no separators.
_TOPIC_LEVEL = re.compile(r"^[^/+#\s]{1,64}$")
_PREFIX = re.compile(r"^[^+#\s]{1,128}$")


def _unsupported(what: str) -> ConnectorError:
    return ConnectorError("unsupported", f"an MQTT relay cannot {what}", retryable=False)


@dataclass(frozen=True)
class _Topics:
    """The topics of one door in one flavour."""

    watched: tuple[str, ...]
    online: str
    state: str


def tasmota_pulse_time(seconds: int) -> int:
    """Returns Tasmota's PulseTime value for `seconds`: tenths up to 11.1 s, then 100 + s."""
    return seconds * 10 if seconds <= 11 else 100 + seconds


class MqttConnector:
    """A `LockConnector` for relays behind an MQTT broker: they keep no codes; hallkey's
    flavour also opens for a schedule's windows, one at a time (`unlock` until the end)."""

    keeps_schedules = False

    def __init__(self, broker: MqttBroker, flavour: str, prefix: str, clock: Clock) -> None:
        if flavour not in FLAVOURS:
            raise ValueError(f"flavour must be one of {', '.join(FLAVOURS)}")
        if flavour == "hallkey" and not _PREFIX.fullmatch(prefix):
            raise ValueError("prefix must be a topic without wildcards")
        self.broker = broker
        self.flavour = flavour
        self.capabilities = frozenset({PULSE, SCHEDULE} if flavour == "hallkey" else {PULSE})
        self.prefix = prefix.rstrip("/")
        self.clock = clock

    def _topics(self, door: DoorTarget) -> _Topics:
        if not _TOPIC_LEVEL.fullmatch(door.remote_id):
            raise ConnectorError("unknown_door", "not an MQTT door id", retryable=False)
        if self.flavour == "hallkey":
            return _Topics(
                watched=(f"{self.prefix}/+/state", f"{self.prefix}/+/online"),
                online=f"{self.prefix}/{door.remote_id}/online",
                state=f"{self.prefix}/{door.remote_id}/state",
            )
        return _Topics(
            watched=("tele/+/LWT", "stat/+/POWER1"),
            online=f"tele/{door.remote_id}/LWT",
            state=f"stat/{door.remote_id}/POWER1",
        )

    def _read(self, door: DoorTarget) -> DoorStatus:
        topics = self._topics(door)
        self.broker.watch(topics.watched)
        will = self.broker.latest(topics.online)
        state = self.broker.latest(topics.state)
        if will is None and state is None:
            raise ConnectorError(
                "unknown_door", "the broker has never heard of this door", retryable=False
            )
        # Both flavours say `online`/`offline` (Tasmota capitalised); no will yet reads as
        # online, as a device that has published its state is there.
        online = will is None or will.payload.decode(errors="replace").lower() == "online"
        return DoorStatus(online=online, battery=_battery(state.payload) if state else None)

    def program(self, door: DoorTarget, ref: str, credential: Credential) -> None:
        """Opens the door for the unlock window holding now, until its end (the device relocks
        by itself then); refuses every stored credential."""
        if SCHEDULE not in self.capabilities or credential.type != "unlock" or credential.code:
            raise _unsupported("store credentials")
        now = self.clock.now()
        current = [w for w in credential.windows if w.valid_from <= now < w.valid_to]
        if not current:
            self._read(door)  # an unknown door is still an error now, not at the start
            return
        if not self._read(door).online:
            raise ConnectorError(
                "door_offline", "the relay's last will says offline", retryable=True
            )
        until = max(w.valid_to for w in current)
        self._command(door, {"action": "unlock", "until": _utc(until)})

    def revoke(self, door: DoorTarget, ref: str, version: int = 0) -> None:
        """Locks the door now (hallkey flavour): a revoked or moved unlock grant must not leave
        it open. Sent whatever the last state the hub has heard says: that state may not have
        reached the hub yet, and locking a locked door is harmless — failing safe, locked."""
        if SCHEDULE not in self.capabilities:
            raise _unsupported("store credentials")
        self._read(door)
        self._command(door, {"action": "lock"})

    def _command(self, door: DoorTarget, command: dict[str, object]) -> None:
        body = {"id": secrets.token_hex(8), **command}
        self.broker.publish(f"{self.prefix}/{door.remote_id}/command", json.dumps(body))

    def live_credentials(
        self, door: DoorTarget, *, after: str | None = None, limit: int | None = None
    ) -> list[HeldCredential]:
        """Refuses: an MQTT relay keeps no credentials."""
        raise _unsupported("store credentials")

    def pulse(self, door: DoorTarget, seconds: int, ref: str | None) -> datetime:
        """Publishes a timed opening that the device itself ends; returns when it relocks."""
        if not self._read(door).online:
            raise ConnectorError(
                "door_offline", "the relay's last will says offline", retryable=True
            )
        now = self.clock.now()
        if self.flavour == "hallkey":
            self._command(door, {"action": "pulse", "seconds": seconds})
        else:
            # PulseTime first: Power1 ON then ends by itself, on the device's own timer.
            self.broker.publish(
                f"cmnd/{door.remote_id}/PulseTime1", str(tasmota_pulse_time(seconds))
            )
            self.broker.publish(f"cmnd/{door.remote_id}/Power1", "ON")
        return now + timedelta(seconds=seconds)

    def status(self, door: DoorTarget) -> DoorStatus:
        """Returns online (the last will) and battery (the retained state) of the door."""
        return self._read(door)

    def listen_events(self, key: str, sink: EventSink) -> bool:
        """Hands each event a device publishes on `{prefix}/{door}/event` to `sink` (hallkey
        flavour; Tasmota has no events: returns False). `key` names the listener (a site).

        Raises ConnectorError `door_offline` when the broker cannot be reached.
        """
        if self.flavour != "hallkey":
            return False
        start = len(self.prefix) + 1

        def received(topic: str, payload: bytes) -> None:
            door, _, leaf = topic[start:].partition("/")
            if leaf == "event" and _TOPIC_LEVEL.fullmatch(door):
                sink(door, payload)

        self.broker.listen(f"{self.prefix}/+/event", key, received)
        return True


def _battery(payload: bytes) -> int | None:
    try:
        state = json.loads(payload)
    except ValueError:
        return None
    battery = state.get("battery") if isinstance(state, dict) else None
    if isinstance(battery, int) and not isinstance(battery, bool) and 0 <= battery <= 100:
        return battery
    return None


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
