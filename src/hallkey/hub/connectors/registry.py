"""Which connector serves a site: built from the site's connector name and config."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from hallkey.core.clock import Clock
from hallkey.hub.connectors.base import LockConnector
from hallkey.hub.connectors.controller import ControllerConnector
from hallkey.hub.connectors.memory import IMPLEMENTED, MemoryConnector, MemoryLockSystem
from hallkey.hub.connectors.mqtt import MqttConnector
from hallkey.hub.connectors.mqtt_broker import BrokerAddress, BrokerConfigError, MqttBrokers
from hallkey.hub.connectors.shelly import ShellyConnector, parse_relays

ConnectorFactory = Callable[[Mapping[str, str]], LockConnector]


class UnknownConnector(ValueError):
    """A site names a connector or config this hub cannot build."""


class ConnectorRegistry:
    """Maps connector names to factories; holds the hub's in-memory lock system and its
    long-lived MQTT connections (one per broker, shared by every site on it)."""

    def __init__(self, clock: Clock, timeout_seconds: float) -> None:
        self.clock = clock
        self.memory = MemoryLockSystem(clock)
        self.mqtt = MqttBrokers(clock, timeout_seconds)
        self.timeout_seconds = timeout_seconds
        self._factories: dict[str, ConnectorFactory] = {
            "memory": self._memory,
            "controller": self._controller,
            "mqtt": self._mqtt,
            "shelly": self._shelly,
        }

    def close(self) -> None:
        """Closes the connections the registry holds (MQTT brokers)."""
        self.mqtt.close()

    @property
    def names(self) -> frozenset[str]:
        """Returns the connector names this hub can build."""
        return frozenset(self._factories)

    def register(self, name: str, factory: ConnectorFactory) -> None:
        """Adds (or replaces) the factory of a connector name."""
        self._factories[name] = factory

    def build(self, name: str, config: Mapping[str, str]) -> LockConnector:
        """Returns the connector for a site; raises UnknownConnector for a bad name or config."""
        factory = self._factories.get(name)
        if factory is None:
            raise UnknownConnector(f"unknown connector {name!r}")
        return factory(config)

    def _memory(self, config: Mapping[str, str]) -> LockConnector:
        listed = config.get("capabilities")
        if listed is None:
            return MemoryConnector(self.memory)
        capabilities = frozenset(c.strip() for c in listed.split(",") if c.strip())
        if not capabilities <= IMPLEMENTED:
            raise UnknownConnector("memory connector config names a capability it does not have")
        return MemoryConnector(self.memory, capabilities)

    def _controller(self, config: Mapping[str, str]) -> LockConnector:
        base_url = config.get("base_url")
        api_key = config.get("api_key")
        if not base_url or not api_key:
            raise UnknownConnector("controller connector needs base_url and api_key")
        return ControllerConnector(base_url, api_key, self.timeout_seconds)

    def _mqtt(self, config: Mapping[str, str]) -> LockConnector:
        try:
            address = BrokerAddress.parse(config.get("broker", ""))
        except BrokerConfigError as exc:
            raise UnknownConnector(f"mqtt connector: {exc}") from None
        try:
            return MqttConnector(
                self.mqtt.get(address),
                config.get("flavour", "hallkey"),
                config.get("prefix", "hallkey"),
                self.clock,
            )
        except ValueError as exc:
            raise UnknownConnector(f"mqtt connector: {exc}") from None

    def _shelly(self, config: Mapping[str, str]) -> LockConnector:
        try:
            relays = parse_relays(config.get("doors", "{}"))
        except ValueError as exc:
            raise UnknownConnector(f"shelly connector: {exc}") from None
        return ShellyConnector(relays, self.clock, self.timeout_seconds)
