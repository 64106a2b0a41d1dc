"""The hallkey door controller (the locks context) reached over its HTTP API."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from hallkey.core.http import PeerError, call_json, make_client
from hallkey.hub.connectors.base import (
    PULSE,
    SCHEDULE,
    STORE_CREDENTIALS,
    ConnectorError,
    Credential,
    DoorOutcomes,
    DoorStatus,
    DoorTarget,
    HeldCredential,
    one_by_one,
    page_of,
)
from hallkey.hub.domain import Window

_REFUSALS = {"code_rejected", "no_space_on_door", "unknown_door"}

MAX_BATCH_DOORS = 64
"""Doors the controller takes in one batch request."""


def utc_text(value: datetime) -> str:
    """Returns an RFC 3339 UTC time ending in `Z`."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


class ControllerConnector:
    """A `LockConnector` for a hallkey door controller; config `{"base_url", "api_key"}`.

    Also a `ManyDoorsConnector`: one ref's change for several doors goes in one request.
    """

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
        body = _credential_body(credential) | _hub_door(door)
        self._call("PUT", f"{self._door_path(door)}/credentials/{path_segment(ref)}", body)

    def revoke(self, door: DoorTarget, ref: str, version: int = 0) -> None:
        """DELETEs the credential of `ref` at the controller's door."""
        path = f"{self._door_path(door)}/credentials/{path_segment(ref)}?version={version}"
        self._call("DELETE", path)

    def program_doors(
        self, doors: Sequence[DoorTarget], ref: str, credential: Credential
    ) -> DoorOutcomes:
        """PUTs the credential of `ref` onto all the doors in one request (each door's body as
        `program` builds it); door by door on a controller older than that route."""
        try:
            body = _credential_body(credential)
        except ConnectorError as exc:
            return {door.id: exc for door in doors}
        return self._batch(
            doors,
            "PUT",
            f"/locks/v1/credentials/{path_segment(ref)}",
            lambda chunk: body | {"doors": [{"id": d.remote_id} | _hub_door(d) for d in chunk]},
            lambda door: self.program(door, ref, credential),
        )

    def revoke_doors(self, doors: Sequence[DoorTarget], ref: str, version: int = 0) -> DoorOutcomes:
        """Revokes `ref` on all the doors in one request; door by door on an older controller."""
        return self._batch(
            doors,
            "POST",
            f"/locks/v1/credentials/{path_segment(ref)}/revoke",
            lambda chunk: {"doors": [d.remote_id for d in chunk], "version": version},
            lambda door: self.revoke(door, ref, version),
        )

    def _batch(
        self,
        doors: Sequence[DoorTarget],
        method: str,
        path: str,
        body_of: Callable[[Sequence[DoorTarget]], dict[str, Any]],
        one: Callable[[DoorTarget], None],
    ) -> DoorOutcomes:
        """Sends one request per up to 64 doors; a failure of a request is each of its doors'
        error, as `_call` maps it for one door."""
        remote_ids = [door.remote_id for door in doors]
        if len(set(remote_ids)) != len(remote_ids):
            # Two of the hub's doors on one door of the controller: the batch takes each door
            # once, so these go as they always did.
            return one_by_one(doors, one)
        outcomes: DoorOutcomes = {}
        with make_client(self.base_url, self._api_key, self.timeout_seconds) as client:
            for start in range(0, len(doors), MAX_BATCH_DOORS):
                chunk = doors[start : start + MAX_BATCH_DOORS]
                try:
                    answer = call_json(client, method, path, body_of(chunk)).json()
                except PeerError as exc:
                    if exc.status in (404, 405):
                        # A controller older than the batch routes: no door is unknown for that.
                        outcomes |= one_by_one(chunk, one)
                    else:
                        error = _connector_error(exc)
                        outcomes |= {door.id: error for door in chunk}
                    continue
                except ValueError:
                    answer = None  # not JSON: every door's outcome is unknown
                outcomes |= _door_outcomes(chunk, answer)
        return outcomes

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

    def live_credentials(
        self, door: DoorTarget, *, after: str | None = None, limit: int | None = None
    ) -> list[HeldCredential]:
        """Lists the door's live credentials at the controller (no codes ever leave it), a
        page at a time when asked. A controller older than paging answers with all of them:
        the page is then cut from that here."""
        query: dict[str, str] = {"live": "true"}
        if after is not None:
            query["after"] = after
        if limit is not None:
            query["limit"] = str(limit)
        answer = self._call("GET", f"{self._door_path(door)}/credentials?{urlencode(query)}")
        if not isinstance(answer, list):
            raise ConnectorError(
                "door_offline", "the controller answered with no list", retryable=True
            )
        held = (
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
        )
        return page_of(held, after, limit)

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


def _credential_body(credential: Credential) -> dict[str, Any]:
    """Returns the JSON body of a credential for the controller, without the door."""
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
    return body | {
        "windows": [
            {"valid_from": utc_text(w.valid_from), "valid_to": utc_text(w.valid_to)}
            for w in credential.windows
        ],
        "version": credential.version,
    }


def _hub_door(door: DoorTarget) -> dict[str, str]:
    """Returns `hub_door` for the controller when the hub's id of the door differs from its own.

    A mobile key's `doors` claim names the hub's door id; the controller falls back to its own
    id only when it has not been told another (sent only then, so a controller older than this
    field still takes a site whose ids agree).
    """
    return {"hub_door": door.id} if door.id != door.remote_id else {}


def _door_outcomes(doors: Sequence[DoorTarget], answer: object) -> DoorOutcomes:
    """Maps the controller's per-door answer onto the hub's doors, each refusal as the
    single-door call's status would have been mapped."""
    items = answer.get("doors") if isinstance(answer, dict) else None
    by_remote = {
        item["door"]: item
        for item in (items if isinstance(items, list) else [])
        if isinstance(item, dict) and isinstance(item.get("door"), str)
    }
    outcomes: DoorOutcomes = {}
    for door in doors:
        item = by_remote.get(door.remote_id)
        if item is None:
            outcomes[door.id] = ConnectorError(
                "door_offline", "the controller answered without this door", retryable=True
            )
        elif item.get("ok") is True:
            outcomes[door.id] = None
        else:
            error = item.get("error")
            code = error.get("code") if isinstance(error, dict) else None
            outcomes[door.id] = _refusal(code if isinstance(code, str) else "")
    return outcomes


def _refusal(code: str) -> ConnectorError:
    """The controller refused a door for good: `unknown_door`, `code_rejected`,
    `no_space_on_door`, or (any other code) `unsupported`."""
    if code == "unknown_door":
        return ConnectorError("unknown_door", "the controller has no such door", retryable=False)
    if code in _REFUSALS:
        return ConnectorError(code, f"the controller refused: {code}", retryable=False)
    return ConnectorError("unsupported", "the controller refused the door", retryable=False)


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
        return _refusal("unknown_door")
    if exc.status == 409 and exc.code in _REFUSALS:
        return _refusal(exc.code)
    return ConnectorError("unsupported", f"the controller refused ({exc.status})", retryable=False)
