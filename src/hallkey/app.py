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


def issue_operator_key(contexts: Contexts, role: ContextName, name: str) -> tuple[str, str]:
    """Makes an operator key of one context of this process; returns (its id, the key)."""
    if role == "booking" and contexts.booking is not None:
        ctx_b = contexts.booking
        with ctx_b.database.transaction() as session:
            return booking.issue_operator_key(ctx_b, session, name=name)
    if role == "hub" and contexts.hub is not None:
        ctx_h = contexts.hub
        with ctx_h.database.transaction() as session:
            return hub.issue_operator_key(ctx_h, session, name=name)
    if role == "locks" and contexts.locks is not None:
        ctx_l = contexts.locks
        with ctx_l.database.transaction() as session:
            return locks.issue_operator_key(ctx_l, session, name=name)
    raise ValueError(f"this process does not run the {role} context")


def revoke_operator_key(contexts: Contexts, role: ContextName, key_id: str) -> None:
    """Deletes an operator key of one context of this process."""
    if role == "booking" and contexts.booking is not None:
        with contexts.booking.database.transaction() as session:
            booking.revoke_operator_key(contexts.booking, session, key_id=key_id)
    elif role == "hub" and contexts.hub is not None:
        with contexts.hub.database.transaction() as session:
            hub.revoke_operator_key(contexts.hub, session, key_id=key_id)
    elif role == "locks" and contexts.locks is not None:
        with contexts.locks.database.transaction() as session:
            locks.revoke_operator_key(contexts.locks, session, key_id=key_id)
