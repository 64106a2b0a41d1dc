"""A seeded demo of the three contexts in one app, served in-process, for the web tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from hallkey.app import Contexts, build_app, build_contexts
from hallkey.core.clock import ManualClock
from hallkey.core.settings import Settings
from hallkey.demo import DemoUrls, seed_demo

NOW = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)
NOWHERE = "http://127.0.0.1:9"  # no worker runs: the contexts never call each other here


@dataclass
class Web:
    """The combined app with the demo's keys, and a client from one source address."""

    app: FastAPI
    contexts: Contexts
    demo: dict[str, Any]

    def client(self, address: str = "192.0.2.1") -> TestClient:
        """Returns a client of the app whose requests come from `address`."""
        return TestClient(self.app, client=(address, 50000))

    def auth(self, role: str) -> dict[str, str]:
        """Returns the Authorization header with the demo's key for `role`."""
        key = {
            "booking": self.demo["booking_api_token"],
            "hub": self.demo["hub_api_key"],
            "locks": self.demo["locks_api_key"],
        }[role]
        return {"Authorization": f"Bearer {key}"}

    @property
    def resource(self) -> str:
        """Returns the id of the demo's open-around-the-clock resource."""
        return str(self.demo["resources"][0]["id"])

    @property
    def door(self) -> str:
        """Returns a door of that resource (the same id at the hub and the controller)."""
        return str(self.demo["resources"][0]["doors"][0])


def make_web(data_dir: Path, **settings: Any) -> Web:
    """Returns the demo served by one app (workers not running)."""
    config = Settings(data_dir=data_dir, secret_key="web-secret", **settings)
    contexts = build_contexts(config, ManualClock(NOW))
    assert contexts.booking and contexts.hub and contexts.locks
    demo = seed_demo(
        contexts.booking, contexts.hub, contexts.locks, DemoUrls(NOWHERE, NOWHERE, NOWHERE)
    )
    return Web(build_app(contexts, run_workers=False), contexts, demo)


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Web]:
    """One demo per test module (tests that count wrong keys use addresses of their own)."""
    made = make_web(tmp_path_factory.mktemp("web") / "var")
    yield made
    made.contexts.close()
