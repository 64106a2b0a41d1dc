"""One long-lived MQTT connection per broker, shared by every site that uses it.

The hub reads doors' state, online flag (last will) and battery from retained topics: the
connection subscribes to them once and keeps the latest message of each topic, so a status
read is a lookup, not a round trip. Commands are published with QoS 1 and wait for the
broker's acknowledgement.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from hallkey.core.clock import Clock
from hallkey.hub.connectors.base import ConnectorError

log = logging.getLogger(__name__)

KEEPALIVE_SECONDS = 30

MessageHandler = Callable[[str, bytes], None]
"""Takes a message's topic and payload; runs on the connection's network thread, so it must
return quickly (hand the message on) and never raise."""


class BrokerConfigError(ValueError):
    """A broker URL this hub cannot use."""


@dataclass(frozen=True)
class BrokerAddress:
    """Where a broker listens and who the hub is there."""

    host: str
    port: int
    username: str | None
    password: str | None

    @classmethod
    def parse(cls, url: str) -> BrokerAddress:
        """Returns the address of `mqtt://user:pass@host:1883`; raises BrokerConfigError."""
        parts = urlsplit(url)
        if parts.scheme != "mqtt" or not parts.hostname:
            raise BrokerConfigError("broker must be mqtt://[user:pass@]host[:port]")
        try:
            port = parts.port or 1883
        except ValueError:
            raise BrokerConfigError("broker port is not a number") from None
        username = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password else None
        return cls(parts.hostname, port, username, password)


@dataclass(frozen=True)
class Retained:
    """The latest message on a topic and when the hub received it."""

    payload: bytes
    received_at: datetime


def _unreachable() -> ConnectorError:
    return ConnectorError("door_offline", "the MQTT broker cannot be reached", retryable=True)


class MqttBroker:
    """A connection to one broker: subscriptions kept across reconnects, latest messages cached.

    Thread-safe; paho's network thread runs in the background and reconnects by itself.
    """

    def __init__(self, address: BrokerAddress, clock: Clock, timeout_seconds: float) -> None:
        self.address = address
        self.clock = clock
        self.timeout_seconds = timeout_seconds
        self._lock = threading.Lock()
        self._connected = threading.Event()
        self._started = False
        self._filters: set[str] = set()
        self._latest: dict[str, Retained] = {}
        # Streams (door events), by topic filter then by listener: handed on, never cached.
        self._listeners: dict[str, dict[str, MessageHandler]] = {}
        self._sync_topic = f"hallkey-sync/{secrets.token_hex(8)}"
        self._sync_waiters: dict[str, threading.Event] = {}
        self._stale = True
        self._session = 0
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"hallkey-hub-{secrets.token_hex(6)}",
            clean_session=True,
        )
        if address.username is not None:
            self._client.username_pw_set(address.username, address.password)
        self._client.reconnect_delay_set(1, 30)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message

    # --- paho callbacks (its network thread) ---------------------------------------------

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason.is_failure:
            log.warning("MQTT broker %s refused the hub: %s", self.address.host, reason)
            return
        with self._lock:
            # A new session: what was cached may have changed while we were away.
            self._latest.clear()
            self._stale = True
            self._session += 1
            filters = [self._sync_topic, *sorted(self._filters)]
        client.subscribe([(topic, 1) for topic in filters])
        self._connected.set()

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.DisconnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self._connected.clear()
        log.info("MQTT broker %s disconnected: %s", self.address.host, reason)

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        if message.topic == self._sync_topic:
            waiter = self._sync_waiters.pop(message.payload.decode(errors="replace"), None)
            if waiter is not None:
                waiter.set()
            return
        with self._lock:
            handlers = [
                handler
                for topic_filter, by_key in self._listeners.items()
                if mqtt.topic_matches_sub(topic_filter, message.topic)
                for handler in by_key.values()
            ]
        if handlers:
            for handler in handlers:
                try:
                    handler(message.topic, bytes(message.payload))
                except Exception:  # a listener's bug must not stop the connection
                    log.exception("MQTT listener failed on a message")
            return
        with self._lock:
            if message.payload:
                self._latest[message.topic] = Retained(bytes(message.payload), self.clock.now())
            else:  # an empty retained message deletes the topic
                self._latest.pop(message.topic, None)

    # --- used by connectors ---------------------------------------------------------------

    def _ensure_connected(self) -> None:
        with self._lock:
            if not self._started:
                self._started = True
                self._client.connect_async(
                    self.address.host, self.address.port, keepalive=KEEPALIVE_SECONDS
                )
                self._client.loop_start()
        if not self._connected.wait(self.timeout_seconds):
            raise _unreachable()

    def watch(self, topic_filters: tuple[str, ...]) -> None:
        """Subscribes to `topic_filters` (once) and returns when their retained messages are in.

        The barrier is a message the hub sends itself after subscribing: the broker handles a
        client's packets in order, so the retained messages come before it.
        """
        self._ensure_connected()
        with self._lock:
            new = [topic for topic in topic_filters if topic not in self._filters]
            self._filters.update(new)
            stale = self._stale
            session = self._session
        if not new and not stale:
            return
        if new:
            result, _ = self._client.subscribe([(topic, 1) for topic in new])
            if result != MQTTErrorCode.MQTT_ERR_SUCCESS:
                with self._lock:
                    self._filters.difference_update(new)
                raise _unreachable()
        nonce = secrets.token_hex(8)
        arrived = threading.Event()
        self._sync_waiters[nonce] = arrived
        self._client.publish(self._sync_topic, nonce, qos=1)
        if not arrived.wait(self.timeout_seconds):
            self._sync_waiters.pop(nonce, None)
            raise _unreachable()
        with self._lock:
            # Only a barrier sent after the latest (re)subscription proves the cache whole.
            if self._session == session and self._connected.is_set():
                self._stale = False

    def listen(self, topic_filter: str, key: str, handler: MessageHandler) -> None:
        """Hands every message on `topic_filter` to `handler` from now on, across reconnects;
        `key` names the listener, so listening again replaces it (on any filter) instead of
        adding a second.

        Raises ConnectorError `door_offline` when the broker cannot be reached (call again).
        """
        with self._lock:
            for listened in self._listeners.values():
                listened.pop(key, None)  # a listener moved to another filter (a new prefix)
            self._listeners.setdefault(topic_filter, {})[key] = handler
        self.watch((topic_filter,))

    def latest(self, topic: str) -> Retained | None:
        """Returns the latest message on a watched topic, or None."""
        with self._lock:
            return self._latest.get(topic)

    def publish(self, topic: str, payload: str) -> None:
        """Publishes with QoS 1 and waits for the broker's acknowledgement."""
        self._ensure_connected()
        info = self._client.publish(topic, payload, qos=1)
        try:
            info.wait_for_publish(self.timeout_seconds)
        except (RuntimeError, ValueError):
            raise _unreachable() from None
        if not info.is_published():
            raise _unreachable()

    def close(self) -> None:
        """Disconnects and stops the network thread."""
        with self._lock:
            started, self._started = self._started, False
        if started:
            self._client.disconnect()
            self._client.loop_stop()
        self._connected.clear()


class MqttBrokers:
    """The hub's connections, one per broker address, made on first use."""

    def __init__(self, clock: Clock, timeout_seconds: float) -> None:
        self.clock = clock
        self.timeout_seconds = timeout_seconds
        self._brokers: dict[BrokerAddress, MqttBroker] = {}
        self._lock = threading.Lock()

    def get(self, address: BrokerAddress) -> MqttBroker:
        """Returns the connection to `address` (not yet connected until first used)."""
        with self._lock:
            broker = self._brokers.get(address)
            if broker is None:
                broker = MqttBroker(address, self.clock, self.timeout_seconds)
                self._brokers[address] = broker
            return broker

    def close(self) -> None:
        """Closes every connection."""
        with self._lock:
            brokers, self._brokers = list(self._brokers.values()), {}
        for broker in brokers:
            broker.close()
