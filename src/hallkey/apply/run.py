"""One apply under way (`Run`): the contexts it talks to, the calls it makes and the changes
it records; shared by the steps of each context (`engine`, `booking_steps`, `staff`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from hallkey.apply.errors import ApplyError
from hallkey.apply.file import SetupFile
from hallkey.apply.staff import Passwords


@dataclass(frozen=True)
class Endpoint:
    """How one context is reached (a client with its operator key) and where it is seen from
    the others (`public_url`, written into the links between them)."""

    client: httpx.Client
    public_url: str


@dataclass
class Outcome:
    """What an apply changed (or, in a dry run, would change), and the keys it made."""

    dry_run: bool
    changes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    keys: dict[str, Any] = field(default_factory=dict)
    ids: dict[str, Any] = field(default_factory=dict)


class Run:
    """One apply under way: the file, the three contexts, what it found and changed so far."""

    def __init__(
        self,
        setup: SetupFile,
        booking: Endpoint,
        hub: Endpoint,
        locks: Endpoint,
        dry_run: bool,
        passwords: Passwords,
    ) -> None:
        self.passwords = passwords
        self.setup = setup
        self.booking = booking
        self.hub = hub
        self.locks = locks
        self.out = Outcome(dry_run=dry_run)
        self.hub_api_key: str | None = None
        self.client_id: str | None = None
        self.client: dict[str, Any] | None = None
        self.tenant_body: dict[str, Any] = {}
        self.tenant_has_webhook_secret = False

    def change(self, text: str) -> bool:
        """Records a change; tells whether to make it (not in a dry run)."""
        self.out.changes.append(text)
        return not self.out.dry_run

    def call(
        self,
        endpoint: Endpoint,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        *,
        missing_ok: bool = False,
    ) -> Any:
        """Returns the answer's JSON; raises ApplyError on a 4xx or 5xx (`missing_ok`: None
        for a 404)."""
        try:
            response = endpoint.client.request(method, path, json=body, params=params)
        except httpx.HTTPError as exc:
            raise ApplyError(
                f"{method} {path}: cannot reach {endpoint.public_url} ({exc})"
            ) from None
        if missing_ok and response.status_code == 404:
            return None
        if response.status_code >= 400:
            raise ApplyError(f"{method} {path}: {response.status_code} {error_of(response)}")
        return response.json() if response.content else None


def by_name(items: list[dict[str, Any]], what: str) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = {}
    for item in items:
        if item["name"] in result:
            raise ApplyError(f"two {what} are named {item['name']!r}: rename one first")
        result[item["name"]] = item
    return result


def error_of(response: httpx.Response) -> str:
    try:
        error = response.json()["error"]
        field_note = f" (field {error['field']})" if error.get("field") else ""
        return f"{error['message']}{field_note}"
    except (ValueError, KeyError, TypeError):
        return response.reason_phrase
