"""The door controller's context: settings, clock, database, jobs and secrets."""

from __future__ import annotations

import base64
import threading
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from hallkey.core.clock import Clock
from hallkey.core.db import Database
from hallkey.core.jobs import JobQueue, Worker, worker_name
from hallkey.core.migrations import upgrade
from hallkey.core.security import SecretBox, check_box
from hallkey.core.settings import Settings
from hallkey.locks import tasks
from hallkey.locks.models import Controller, jobs_table
from hallkey.locks.service import DOOR_SCHEDULE, DOOR_SCHEDULE_ID, PUSH_SWEEP, PUSH_SWEEP_ID

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "locks_alembic_version"


@dataclass
class LocksContext:
    """Everything the door controller's API, services and jobs need."""

    settings: Settings
    clock: Clock
    database: Database
    jobs: JobQueue
    box: SecretBox
    worker: Worker = field(init=False)
    _pin_secrets: dict[str, bytes] = field(default_factory=dict, init=False, repr=False)
    _pin_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def pin_secret(self, controller_id: str, sealed: str) -> bytes:
        """Returns the controller's PIN secret, decrypted once and then kept in memory.

        The keypad decision is the hot path; it should not pay for a decryption each time.
        """
        with self._pin_lock:
            secret = self._pin_secrets.get(controller_id)
            if secret is None:
                secret = base64.b64decode(self.box.open(sealed))
                self._pin_secrets[controller_id] = secret
            return secret

    def known_pin_secret(self, controller_id: str) -> bytes | None:
        """Returns the controller's PIN secret if it was decrypted before (it never changes
        once provisioned), so that the caller need not read the controller's row."""
        with self._pin_lock:
            return self._pin_secrets.get(controller_id)

    def close(self) -> None:
        """Releases the database connections."""
        self.database.dispose()


def create_context(settings: Settings, clock: Clock, *, migrate: bool = True) -> LocksContext:
    """Returns the door controller's context, its database migrated first when `migrate`."""
    url = settings.database_url("locks")
    if migrate:
        upgrade(url, MIGRATIONS, VERSION_TABLE)
    database = Database(url, name="locks", connections=settings.database_connections)
    ctx = LocksContext(
        settings=settings,
        clock=clock,
        database=database,
        jobs=JobQueue(database, jobs_table, clock),
        box=SecretBox.for_purpose(settings.master_secret, "locks"),
    )
    ctx.worker = Worker(
        name=worker_name("locks"),
        queue=ctx.jobs,
        handlers=tasks.handlers(ctx),
        poll_seconds=settings.worker_poll_seconds,
        threads=settings.worker_threads,
        ahead=settings.worker_claim_ahead,
        lease_seconds=settings.job_lease_seconds,
        backoff_max_seconds=settings.job_backoff_max_seconds,
        probe_seconds=settings.peer_probe_seconds,
    )
    with database.transaction() as session:
        sample = session.scalars(select(Controller.pin_secret_sealed).limit(1)).first()
    check_box(ctx.box, sample, "locks")
    with database.transaction() as session:
        ctx.jobs.enqueue_once(session, PUSH_SWEEP_ID, PUSH_SWEEP)
        ctx.jobs.enqueue_once(session, DOOR_SCHEDULE_ID, DOOR_SCHEDULE)
    # Each start of a worker tells the hub at once that the controller is back.
    ctx.worker.on_start.append(lambda: tasks.queue_heartbeat(ctx))
    return ctx
