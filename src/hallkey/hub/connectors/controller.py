"""The hallkey door controller (the locks context) reached over its HTTP API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from hallkey.core.http import PeerError, call_json, make_client
from hallkey.hub.connectors.base import (
    PULSE,
    SCHEDULE,
    STORE_CREDENTIALS,
    ConnectorError,
    Credential,
    DoorStatus,
    DoorTarget,
    HeldCredential,
)
from hallkey.hub.domain import Window

_REFUSALS = {"code_rejected", "no_space_on_door", "unknown_door"}


def utc_text(value: datetime) -> str:
    """Returns an RFC 3339 UTC time ending in `Z`."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


class ControllerConnector:
    """A `LockConnector` for a hallkey door controller; config `{"base_url", "api_key"}`."""

    # The controller keeps PIN codes and unlock schedules and runs both on its own clock.
    capabilities = frozenset({STORE_CREDENTIALS, PULSE, SCHEDULE})
    keeps_schedules = True

    def __init__(self, base_url: str, api_key: str, timeout_seconds: float) -> None:
        self.base_url = base_url
        self._api_key = api_key
        self.timeout_seconds = timeout_seconds

    def _call(self, method: str, path: str, body: Any | None = None) -> Any:
        with make_client(self.base_url, self._api_key, self.timeout_seconds) as client:
            try:
                return call_json(client, method, path, body).json()
            except PeerError as exc:
                raise _connector_error(exc) from exc

    @staticmethod
    def _door_path(door: DoorTarget) -> str:
        return f"/locks/v1/doors/{path_segment(door.remote_id)}"

    def program(self, door: DoorTarget, ref: str, credential: Credential) -> None:
        """PUTs the credential (a PIN, a mobile key's verifying keys) or the unlock schedule of
        `ref` onto the controller's door, telling it the hub's id of the door if it differs."""
        body: dict[str, Any]
        if credential.type == "unlock" and credential.code is None:
            body = {"type": "unlock"}
        elif credential.type == "pin" and credential.code is not None:
            body = {"type": "pin", "code": credential.code}
        elif credential.type == "mobile_key":
            # The controller verifies the token offline: it needs the keys, not the token.
            body = {"type": "mobile_key", "keys": list(credential.keys)}
        else:
            raise ConnectorError(
                "unsupported",
                "the controller keeps PIN codes, mobile keys and unlock schedules only",
                retryable=False,
            )
        body |= {
            "windows": [
                {"valid_from": utc_text(w.valid_from), "valid_to": utc_text(w.valid_to)}
                for w in credential.windows
            ],
            "version": credential.version,
        }
        if door.id != door.remote_id:
            # A mobile key's `doors` claim names the hub's door id; the controller falls back
            # to its own id only when it has not been told another (sent only then, so a
            # controller older than this field still takes a site whose ids agree).
            body["hub_door"] = door.id
        self._call("PUT", f"{self._door_path(door)}/credentials/{path_segment(ref)}", body)

    def revoke(self, door: DoorTarget, ref: str, version: int = 0) -> None:
        """DELETEs the credential of `ref` at the controller's door."""
        path = f"{self._door_path(door)}/credentials/{path_segment(ref)}?version={version}"
        self._call("DELETE", path)

    def pulse(self, door: DoorTarget, seconds: int, ref: str | None) -> datetime:
        """Asks the controller to unlock the door for `seconds`; returns when it relocks."""
        answer = self._call(
            "POST", f"{self._door_path(door)}/pulse", {"seconds": seconds, "ref": ref}
        )
        until = answer.get("unlocked_until") if isinstance(answer, dict) else None
        if not until:
            raise ConnectorError(
                "door_offline", "the controller did not unlock the door", retryable=True
            )
        return _parse_utc(until)

    def live_credentials(self, door: DoorTarget) -> list[HeldCredential]:
        """Lists the door's live credentials at the controller (no codes ever leave it)."""
        answer = self._call("GET", f"{self._door_path(door)}/credentials?live=true")
        if not isinstance(answer, list):
            raise ConnectorError(
                "door_offline", "the controller answered with no list", retryable=True
            )
        return [
            HeldCredential(
                ref=str(item["ref"]),
                windows=tuple(
                    Window(_parse_utc(w["valid_from"]), _parse_utc(w["valid_to"]))
                    for w in item.get("windows", [])
                ),
                version=int(item.get("version", 0)),
            )
            for item in answer
            if isinstance(item, dict) and not item.get("revoked")
        ]

    def status(self, door: DoorTarget) -> DoorStatus:
        """Reads the door from the controller."""
        answer = self._call("GET", self._door_path(door))
        online = bool(answer.get("online", True)) if isinstance(answer, dict) else True
        battery = answer.get("battery") if isinstance(answer, dict) else None
        return DoorStatus(online=online, battery=battery if isinstance(battery, int) else None)


def path_segment(value: str) -> str:
    """Returns `value` quoted as one URL path segment, `.` and `..` included.

    Unquoted, a dot-segment is resolved away by the HTTP client (`/credentials/..` becomes the
    door's own path), so the controller would see another resource, not a bad ref to refuse.
    """
    quoted = quote(value, safe="")
    return quoted.replace(".", "%2E") if quoted in (".", "..") else quoted


def _parse_utc(value: object) -> datetime:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC)


def _connector_error(exc: PeerError) -> ConnectorError:
    if exc.status in (401, 403):
        # A key problem is fixed by an operator; keep trying until then.
        return ConnectorError(
            "door_offline", "the controller refused the hub's key", retryable=True
        )
    if exc.retryable or exc.status is None:
        return ConnectorError("door_offline", "the controller could not be reached", retryable=True)
    if exc.status == 404:
        return ConnectorError("unknown_door", "the controller has no such door", retryable=False)
    if exc.status == 409 and exc.code in _REFUSALS:
        return ConnectorError(exc.code, f"the controller refused: {exc.code}", retryable=False)
    return ConnectorError("unsupported", f"the controller refused ({exc.status})", retryable=False)
