"""Composition root: builds the contexts a process runs and the web app serving them.

Contexts are wired together only by URLs and keys (they talk over HTTP even when they share
a process), so the combined process and three single-role processes behave alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from fastapi import FastAPI

from hallkey import booking, hub, locks
from hallkey.core.clock import Clock, SystemClock
from hallkey.core.jobs import Worker
from hallkey.core.settings import CONTEXT_NAMES, ContextName, Settings
from hallkey.core.web import ContextPart, create_app


class Context(Protocol):
    """What the composition root needs of any context."""

    worker: Worker

    def close(self) -> None: ...


@dataclass
class Contexts:
    """The contexts one process runs, by role."""

    booking: booking.BookingContext | None = None
    hub: hub.HubContext | None = None
    locks: locks.LocksContext | None = None
    parts: list[ContextPart] = field(default_factory=list)

    def workers(self) -> list[Worker]:
        """Returns the background workers of every context in this process."""
        return [worker for part in self.parts for worker in part.workers]

    def close(self) -> None:
        """Releases every context's resources."""
        for part in self.parts:
            part.close()


def build_contexts(
    settings: Settings,
    clock: Clock | None = None,
    roles: Sequence[ContextName] = CONTEXT_NAMES,
    *,
    migrate: bool = True,
) -> Contexts:
    """Returns the contexts for `roles`, each with its database migrated."""
    clock = clock or SystemClock()
    contexts = Contexts()
    if "booking" in roles:
        contexts.booking = booking.create_context(settings, clock, migrate=migrate)
        contexts.parts.append(booking.build_part(contexts.booking))
    if "hub" in roles:
        contexts.hub = hub.create_context(settings, clock, migrate=migrate)
        contexts.parts.append(hub.build_part(contexts.hub))
    if "locks" in roles:
        contexts.locks = locks.create_context(settings, clock, migrate=migrate)
        contexts.parts.append(locks.build_part(contexts.locks))
    return contexts


def build_app(contexts: Contexts, *, run_workers: bool) -> FastAPI:
    """Returns the web app serving the given contexts."""
    return create_app(contexts.parts, run_workers=run_workers)
