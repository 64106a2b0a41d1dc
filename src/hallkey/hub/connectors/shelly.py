"""Shelly Gen2 relays over their HTTP RPC (`POST /rpc`), with digest authentication.

Site config: `{"doors": "<JSON object>"}` mapping each door's remote id to `{"url",
"password"?, "switch_id"}`. A pulse is `Switch.Set {"id", "on": true, "toggle_after"}`: the
relay switches itself off again, so the door relocks even if the hub dies mid-pulse.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx

from hallkey.core.clock import Clock
from hallkey.hub.connectors.base import (
    PULSE,
    ConnectorError,
    Credential,
    DoorStatus,
    DoorTarget,
    HeldCredential,
)

# Shelly Gen2 devices have one user for digest authentication.
SHELLY_USER = "admin"
# The RPC error a device answers for a switch id it does not have.
_NOT_FOUND = -105


@dataclass(frozen=True)
class ShellyRelay:
    """One door's relay: the device's address, its password, and which switch."""

    url: str
    password: str | None
    switch_id: int


def parse_relays(config_text: str) -> dict[str, ShellyRelay]:
    """Returns the relays of a site's `doors` config; raises ValueError naming what is wrong."""
    try:
        raw = json.loads(config_text)
    except ValueError:
        raise ValueError("shelly doors must be a JSON object") from None
    if not isinstance(raw, dict):
        raise ValueError("shelly doors must be a JSON object")
    relays: dict[str, ShellyRelay] = {}
    for remote_id, item in raw.items():
        if not isinstance(item, dict):
            raise ValueError(f"shelly door {remote_id}: must be an object")
        url, password, switch_id = item.get("url"), item.get("password"), item.get("switch_id")
        if not isinstance(url, str):
            raise ValueError(f"shelly door {remote_id}: url must be http(s)://host")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"shelly door {remote_id}: url must be http(s)://host")
        if password is not None and not isinstance(password, str):
            raise ValueError(f"shelly door {remote_id}: password must be text")
        if not isinstance(switch_id, int) or isinstance(switch_id, bool) or switch_id < 0:
            raise ValueError(f"shelly door {remote_id}: switch_id must be a number ≥ 0")
        relays[str(remote_id)] = ShellyRelay(url.rstrip("/"), password or None, switch_id)
    return relays


class ShellyConnector:
    """A `LockConnector` for Shelly Gen2 relays (pulse only; a relay keeps no codes)."""

    capabilities = frozenset({PULSE})
    keeps_schedules = False

    def __init__(
        self, relays: dict[str, ShellyRelay], clock: Clock, timeout_seconds: float
    ) -> None:
        self.relays = relays
        self.clock = clock
        self.timeout_seconds = timeout_seconds

    def _relay(self, door: DoorTarget) -> ShellyRelay:
        relay = self.relays.get(door.remote_id)
        if relay is None:
            raise ConnectorError("unknown_door", "no Shelly relay for this door", retryable=False)
        return relay

    def _rpc(self, relay: ShellyRelay, method: str, params: dict[str, Any]) -> dict[str, Any]:
        auth = httpx.DigestAuth(SHELLY_USER, relay.password) if relay.password else None
        body = {"id": 1, "method": method, "params": params}
        try:
            with httpx.Client(timeout=self.timeout_seconds, auth=auth) as client:
                response = client.post(f"{relay.url}/rpc", json=body)
        except httpx.HTTPError:
            raise ConnectorError(
                "door_offline", "the Shelly relay cannot be reached", retryable=True
            ) from None
        if response.status_code == 401:
            # A password problem is fixed by an operator; keep trying until then.
            raise ConnectorError(
                "door_offline", "the Shelly relay refused the hub's password", retryable=True
            )
        if response.status_code >= 500:
            raise ConnectorError("door_offline", "the Shelly relay failed", retryable=True)
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise ConnectorError(
                "unsupported", f"the Shelly relay answered {response.status_code}", retryable=False
            )
        error = answer.get("error")
        if isinstance(error, dict):
            if error.get("code") == _NOT_FOUND:
                raise ConnectorError(
                    "unknown_door", "the Shelly relay has no such switch", retryable=False
                )
            raise ConnectorError(
                "unsupported", f"the Shelly relay refused ({error.get('code')})", retryable=False
            )
        result = answer.get("result")
        return result if isinstance(result, dict) else {}

    def program(self, door: DoorTarget, ref: str, credential: Credential) -> None:
        """Refuses: a Shelly relay keeps no credentials."""
        raise ConnectorError("unsupported", "a Shelly relay keeps no codes", retryable=False)

    def revoke(self, door: DoorTarget, ref: str, version: int = 0) -> None:
        """Refuses: a Shelly relay keeps no credentials."""
        raise ConnectorError("unsupported", "a Shelly relay keeps no codes", retryable=False)

    def live_credentials(
        self, door: DoorTarget, *, after: str | None = None, limit: int | None = None
    ) -> list[HeldCredential]:
        """Refuses: a Shelly relay keeps no credentials."""
        raise ConnectorError("unsupported", "a Shelly relay keeps no codes", retryable=False)

    def pulse(self, door: DoorTarget, seconds: int, ref: str | None) -> datetime:
        """Switches the relay on with `toggle_after`; returns when the relay itself relocks."""
        relay = self._relay(door)
        now = self.clock.now()
        self._rpc(relay, "Switch.Set", {"id": relay.switch_id, "on": True, "toggle_after": seconds})
        return now + timedelta(seconds=seconds)

    def status(self, door: DoorTarget) -> DoorStatus:
        """Asks the relay for its switch's status: an answer means online (no battery)."""
        relay = self._relay(door)
        self._rpc(relay, "Switch.GetStatus", {"id": relay.switch_id})
        return DoorStatus(online=True, battery=None)
