"""A whole hallkey deployment for end-to-end tests: real servers on loopback, one clock.

`combined` serves the three contexts from one app (as `hallkey serve`); `split` serves each from
its own server and port (as three `hallkey serve --role` processes), so one can be stopped.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import httpx

from hallkey.app import Contexts, build_app, build_contexts
from hallkey.core.clock import ManualClock
from hallkey.core.settings import Settings
from hallkey.core.web import create_app
from hallkey.demo import DemoUrls, seed_demo
from tests.conftest import DatabaseUrlFactory
from tests.servers import ServerThread, free_port

Mode = Literal["combined", "split"]


@dataclass
class Deployment:
    """Running contexts, their servers, and the demo's ids and keys."""

    mode: Mode
    clock: ManualClock
    settings: Settings
    contexts: Contexts
    urls: DemoUrls
    demo: dict[str, Any]
    servers: dict[str, ServerThread] = field(default_factory=dict)

    def booking(self) -> httpx.Client:
        """Returns a client of the booking API with the demo's staff token."""
        return _client(self.urls.booking, self.demo["booking_api_token"])

    def hub(self) -> httpx.Client:
        """Returns a client of the hub API with the demo booking system's key."""
        return _client(self.urls.hub, self.demo["hub_api_key"])

    def locks(self) -> httpx.Client:
        """Returns a client of the door controller with its key."""
        return _client(self.urls.locks, self.demo["locks_api_key"])

    def door_states(self, ref: str) -> set[str]:
        """Returns the states of a grant's doors at the hub (empty while it has no grant).

        Wait on this, never on the keypad: a code typed before its door is programmed is an
        unknown code, and five of those lock the keypad out.
        """
        with self.hub() as hub:
            response = hub.get(f"/hub/v1/grants/{ref}")
        if response.status_code != 200:
            return set()
        return {door["state"] for door in response.json()["doors"]}

    def stop(self, role: str) -> None:
        """Stops the server of one context (split mode): it is then unreachable."""
        self.servers[role].stop()

    def start(self, role: str) -> None:
        """Starts a stopped server again, on its old port."""
        self.servers[role].start()

    def close(self) -> None:
        """Stops every server and releases the contexts."""
        for server in self.servers.values():
            server.stop()
        self.contexts.close()


SMS_NUMBER = "+4759440000"
"""The SMS gateway's number in the e2e deployments."""
SMS_INBOUND_SECRET = "e2e-sms-gateway-secret"
"""The secret with which the e2e tests sign inbound texts as the gateway would."""


def sms_text(d: Deployment, sender: str, body: str) -> httpx.Response:
    """Posts a guest's text to the hub as the SMS gateway does (signed with its secret)."""
    raw = json.dumps({"from": sender, "to": SMS_NUMBER, "text": body}).encode()
    mac = hmac.new(SMS_INBOUND_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    with httpx.Client(base_url=d.urls.hub, timeout=10) as gateway:
        return gateway.post(
            "/hub/v1/sms/inbound",
            content=raw,
            headers={"Content-Type": "application/json", "X-Hallkey-Signature": f"sha256={mac}"},
        )


def _client(base_url: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=10)


@contextmanager
def deployment(
    mode: Mode,
    database_url: DatabaseUrlFactory,
    data_dir: Path,
    start: datetime,
    **overrides: Any,
) -> Iterator[Deployment]:
    """Yields a seeded, running deployment whose clock stands at `start` (with `overrides` of
    any setting)."""
    clock = ManualClock(start)
    settings = Settings(
        data_dir=data_dir,
        booking_database_url=database_url("booking", migrated=True),
        hub_database_url=database_url("hub", migrated=True),
        locks_database_url=database_url("locks", migrated=True),
        secret_key="e2e-secret",
        worker_poll_seconds=0.05,
        sms_number=SMS_NUMBER,
        sms_inbound_secret=SMS_INBOUND_SECRET,
        # The clock stands still unless a test moves it: a grant's state message waiting a
        # second for the next word on it would wait for ever (tests/hub/test_webhooks.py
        # shows the wait itself).
        **{"hub_webhook_settle_seconds": 0.0, **overrides},
    )
    contexts = build_contexts(settings, clock)
    servers: dict[str, ServerThread] = {}
    if mode == "combined":
        servers["all"] = ServerThread(build_app(contexts, run_workers=True))
        base = servers["all"].base_url
        urls = DemoUrls(booking=base, hub=base, locks=base)
    else:
        for part in contexts.parts:
            servers[part.name] = ServerThread(create_app([part], run_workers=True), free_port())
        urls = DemoUrls(
            booking=servers["booking"].base_url,
            hub=servers["hub"].base_url,
            locks=servers["locks"].base_url,
        )
    assert contexts.booking and contexts.hub and contexts.locks
    demo = seed_demo(contexts.booking, contexts.hub, contexts.locks, urls)
    deployed = Deployment(mode, clock, settings, contexts, urls, demo, servers)
    try:
        for server in servers.values():
            server.start()
        yield deployed
    finally:
        deployed.close()
