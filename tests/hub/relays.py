"""Simulated relays for the connector tests: an MQTT relay (hallkey and Tasmota flavours) on
the real Mosquitto, and a Shelly Gen2 relay speaking its RPC with SHA-256 digest auth.

Both keep their own timer: a pulse ends on the device, whatever the hub does meanwhile.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

MOSQUITTO = ("127.0.0.1", 1883)
BROKER_URL = f"mqtt://{MOSQUITTO[0]}:{MOSQUITTO[1]}"
MQTT_TIMEOUT = 10.0
"""How long the hub's side waits for the broker in tests: long enough for a loaded machine
(a round trip to a local broker takes milliseconds; the wait only ends early on success)."""
# The ports this project's helpers may serve on (shared machine: each engineer has a range).
TEST_PORTS = range(8250, 8300)


def port_in_range() -> int:
    """Returns a free port of TEST_PORTS on 127.0.0.1."""
    for port in TEST_PORTS:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in the test range")


def _mosquitto_required() -> bool:
    return bool(os.environ.get("CI")) or os.environ.get("HALLKEY_TEST_REQUIRE_MOSQUITTO") == "1"


def require_mosquitto() -> None:
    """Skips the test when Mosquitto is not reachable; fails it under CI."""
    try:
        with socket.create_connection(MOSQUITTO, timeout=2):
            return
    except OSError as exc:
        reason = f"Mosquitto not reachable at {MOSQUITTO[0]}:{MOSQUITTO[1]}: {exc}"
    if _mosquitto_required():
        pytest.fail(f"{reason} (required under CI)", pytrace=False)
    pytest.skip(reason)


def unique_prefix() -> str:
    """Returns a topic prefix no other test (or engineer) uses."""
    return f"hk-doors-test-{secrets.token_hex(4)}"


@dataclass
class MqttRelay:
    """A door relay on the broker that obeys the hub's commands, in one flavour."""

    flavour: str
    prefix: str
    door: str
    battery: int | None = 87
    locked: bool = True
    states: list[bool] = field(default_factory=list)
    commands: list[tuple[str, str]] = field(default_factory=list)
    pulse_seconds: float = 1.0
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    """The device's own clock (a test shares the hub's): when an `unlock` runs `until`."""
    _client: mqtt.Client | None = None
    _timer: threading.Timer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def online_topic(self) -> str:
        """The topic of the relay's last will."""
        if self.flavour == "hallkey":
            return f"{self.prefix}/{self.door}/online"
        return f"tele/{self.door}/LWT"

    @property
    def state_topic(self) -> str:
        """The topic of the relay's retained state."""
        if self.flavour == "hallkey":
            return f"{self.prefix}/{self.door}/state"
        return f"stat/{self.door}/POWER1"

    def _words(self) -> tuple[str, str]:
        return ("online", "offline") if self.flavour == "hallkey" else ("Online", "Offline")

    def connect(self) -> MqttRelay:
        """Connects (with its last will), says it is online and waits for commands."""
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"relay-{secrets.token_hex(4)}")
        client.will_set(self.online_topic, self._words()[1], qos=1, retain=True)
        client.on_message = self._on_message
        ready = threading.Event()
        published: list[mqtt.MQTTMessageInfo] = []

        def on_connect(
            c: mqtt.Client,
            u: object,
            f: mqtt.ConnectFlags,
            r: ReasonCode,
            p: Properties | None,
        ) -> None:
            topic = (
                f"{self.prefix}/{self.door}/command"
                if self.flavour == "hallkey"
                else f"cmnd/{self.door}/+"
            )
            c.subscribe(topic, qos=1)
            published.append(c.publish(self.online_topic, self._words()[0], qos=1, retain=True))
            published.append(self._publish_state(c))
            ready.set()

        client.on_connect = on_connect
        client.connect(*MOSQUITTO)
        client.loop_start()
        if not ready.wait(MQTT_TIMEOUT):
            raise RuntimeError("simulated relay did not connect")
        # The broker holds the retained state before anyone looks for the door (a real device
        # has said so long before the hub asks).
        for info in published:
            info.wait_for_publish(MQTT_TIMEOUT)
        self._client = client
        return self

    def _publish_state(self, client: mqtt.Client) -> mqtt.MQTTMessageInfo:
        if self.flavour == "hallkey":
            state = {"locked": self.locked, "unlocked_until": None, "battery": self.battery}
            return client.publish(self.state_topic, json.dumps(state), qos=1, retain=True)
        return client.publish(self.state_topic, "OFF" if self.locked else "ON", qos=1)

    def _set_locked(self, locked: bool) -> None:
        with self._lock:
            self.locked = locked
            self.states.append(locked)
        if self._client is not None:
            self._publish_state(self._client)
            if self.flavour == "hallkey":
                kind = "locked" if locked else "unlocked"
                event = {"kind": kind}
                self._client.publish(f"{self.prefix}/{self.door}/event", json.dumps(event), qos=1)

    def _unlock_for(self, seconds: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._set_locked(False)
        # The device's own timer: nobody needs to tell it to relock.
        self._timer = threading.Timer(seconds, self._set_locked, args=(True,))
        self._timer.daemon = True
        self._timer.start()

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        payload = message.payload.decode()
        self.commands.append((message.topic, payload))
        if self.flavour == "hallkey":
            command = json.loads(payload)
            action = command.get("action")
            if action == "pulse":
                self._unlock_for(float(command["seconds"]))
            elif action == "unlock":
                until = datetime.fromisoformat(str(command["until"]).replace("Z", "+00:00"))
                self._unlock_for(max((until - self.clock()).total_seconds(), 0.0))
            elif action == "lock":
                if self._timer is not None:
                    self._timer.cancel()
                self._set_locked(True)
            return
        name = message.topic.rsplit("/", 1)[-1]
        if name == "PulseTime1":
            value = int(payload)
            self.pulse_seconds = value / 10 if value <= 111 else value - 100
        elif name == "Power1" and payload == "ON":
            self._unlock_for(self.pulse_seconds)

    def drop(self) -> None:
        """Loses the connection without a goodbye: the broker publishes the last will."""
        client, self._client = self._client, None
        if client is None:
            return
        client.loop_stop()
        sock = client.socket()
        if isinstance(sock, socket.socket):
            sock.close()

    def remove(self) -> None:
        """Disconnects and clears its retained topics from the shared broker.

        A clean disconnect, so the broker publishes no last will that could land after the
        clearing and be left behind on the shared broker.
        """
        if self._timer is not None:
            self._timer.cancel()
        client, self._client = self._client, None
        if client is not None:
            client.disconnect()
            client.loop_stop()
        cleaner = mqtt.Client(CallbackAPIVersion.VERSION2)
        cleaner.connect(*MOSQUITTO)
        cleaner.loop_start()
        for topic in (self.online_topic, self.state_topic):
            cleaner.publish(topic, b"", qos=1, retain=True).wait_for_publish(MQTT_TIMEOUT)
        cleaner.disconnect()
        cleaner.loop_stop()


def _digest(*parts: str) -> str:
    return hashlib.sha256(":".join(parts).encode()).hexdigest()


class ShellyDevice:
    """A Shelly Gen2 relay: `POST /rpc` with Switch.Set (toggle_after) and Switch.GetStatus."""

    realm = "shellyplus1-a8032ab12345"

    def __init__(self, password: str | None, switches: int = 1) -> None:
        self.password = password
        self.calls: list[dict[str, Any]] = []
        self._on_until: dict[int, float | None] = dict.fromkeys(range(switches))
        self._nonces: set[str] = set()
        self.app = Starlette(routes=[Route("/rpc", self._rpc, methods=["POST"])])

    def output(self, switch_id: int) -> bool:
        """Whether the switch is on now (the device's own timer turns it off)."""
        until = self._on_until.get(switch_id)
        return until is not None and time.monotonic() < until

    def _challenge(self) -> Response:
        nonce = secrets.token_hex(16)
        self._nonces.add(nonce)
        header = f'Digest qop="auth", realm="{self.realm}", nonce="{nonce}", algorithm=SHA-256'
        return JSONResponse(
            {"code": 401, "message": "unauthorized"},
            status_code=401,
            headers={"WWW-Authenticate": header},
        )

    def _authorised(self, request: Request) -> bool:
        if self.password is None:
            return True
        header = request.headers.get("authorization", "")
        if not header.startswith("Digest "):
            return False
        fields: dict[str, str] = {}
        for part in header[len("Digest ") :].split(","):
            key, _, value = part.strip().partition("=")
            fields[key] = value.strip('"')
        if fields.get("nonce") not in self._nonces or fields.get("algorithm") != "SHA-256":
            return False
        ha1 = _digest(fields.get("username", ""), self.realm, self.password)
        ha2 = _digest("POST", fields.get("uri", ""))
        expected = _digest(
            ha1, fields["nonce"], fields.get("nc", ""), fields.get("cnonce", ""), "auth", ha2
        )
        return fields.get("username") == "admin" and secrets.compare_digest(
            expected, fields.get("response", "")
        )

    async def _rpc(self, request: Request) -> Response:
        if not self._authorised(request):
            return self._challenge()
        call = await request.json()
        self.calls.append(call)
        params = call.get("params") or {}
        switch_id = params.get("id")
        if switch_id not in self._on_until:
            error = {"code": -105, "message": f"Argument 'id', value {switch_id} not found!"}
            return JSONResponse({"id": call.get("id"), "src": self.realm, "error": error})
        if call.get("method") == "Switch.Set":
            was_on = self.output(switch_id)
            after = params.get("toggle_after")
            if params.get("on") is not True:
                self._on_until[switch_id] = None
            else:
                self._on_until[switch_id] = time.monotonic() + float(after or "inf")
            result: dict[str, Any] = {"was_on": was_on}
        elif call.get("method") == "Switch.GetStatus":
            result = {"id": switch_id, "source": "http", "output": self.output(switch_id)}
        else:
            error = {"code": -114, "message": "Method not found"}
            return JSONResponse({"id": call.get("id"), "src": self.realm, "error": error})
        return JSONResponse({"id": call.get("id"), "src": self.realm, "result": result})
