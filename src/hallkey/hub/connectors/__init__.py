"""Lock connectors: how the hub reaches each site's lock system."""

from hallkey.hub.connectors.base import (
    ConnectorError,
    Credential,
    DoorStatus,
    DoorTarget,
    LockConnector,
)
from hallkey.hub.connectors.memory import KeypadDecision, MemoryConnector, MemoryLockSystem
from hallkey.hub.connectors.registry import ConnectorRegistry, UnknownConnector

__all__ = [
    "ConnectorError",
    "ConnectorRegistry",
    "Credential",
    "DoorStatus",
    "DoorTarget",
    "KeypadDecision",
    "LockConnector",
    "MemoryConnector",
    "MemoryLockSystem",
    "UnknownConnector",
]
