"""The booking context's wiring: settings, clock, database, jobs and worker."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from hallkey.booking import (
    calendar_models,  # noqa: F401  (registers its table on Base)
    tasks,
)
from hallkey.booking.models import Tenant, jobs_table
from hallkey.booking.throttles import BookingThrottles
from hallkey.core.clock import Clock
from hallkey.core.db import Database
from hallkey.core.jobs import JobQueue, Worker, worker_name
from hallkey.core.messaging import MessageSender, PurgeGate, senders_from_settings
from hallkey.core.migrations import upgrade
from hallkey.core.security import SecretBox, check_box
from hallkey.core.settings import Settings

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "booking_alembic_version"


@dataclass
class BookingContext:
    """Everything the booking system's API, jobs and provisioning work with."""

    settings: Settings
    clock: Clock
    database: Database
    jobs: JobQueue
    worker: Worker
    box: SecretBox
    # Sends the booking system's own emails to its customers (sign-in links, notices).
    sender: MessageSender
    throttles: BookingThrottles
    # Lets the outbox purge that follows a sent email run at most once an hour.
    outbox_purge: PurgeGate = field(default_factory=lambda: PurgeGate(timedelta(hours=1)))
    # Lets the purge of old hub webhook receipts run at most once an hour.
    receipt_purge: PurgeGate = field(default_factory=lambda: PurgeGate(timedelta(hours=1)))

    def close(self) -> None:
        """Stops the worker (if running) and disposes the database."""
        self.worker.stop()
        self.database.dispose()


def create_context(
    settings: Settings,
    clock: Clock,
    *,
    migrate: bool = True,
    sender: MessageSender | None = None,
) -> BookingContext:
    """Returns a ready booking context, migrating its database first when `migrate`; its
    emails go to `sender`, by default the configured senders (HALLKEY_SMTP_URL…), else the
    local outbox folder `<data dir>/outbox/booking`."""
    url = settings.database_url("booking")
    if migrate:
        upgrade(url, MIGRATIONS, VERSION_TABLE)
    database = Database(url, name="booking", connections=settings.database_connections)
    queue = JobQueue(database, jobs_table, clock)
    worker = Worker(
        name=worker_name("booking"),
        queue=queue,
        handlers={},
        poll_seconds=settings.worker_poll_seconds,
        threads=settings.worker_threads,
        ahead=settings.worker_claim_ahead,
        lease_seconds=settings.job_lease_seconds,
        backoff_max_seconds=settings.job_backoff_max_seconds,
        probe_seconds=settings.peer_probe_seconds,
    )
    ctx = BookingContext(
        settings=settings,
        clock=clock,
        database=database,
        jobs=queue,
        worker=worker,
        box=SecretBox.for_purpose(settings.master_secret, "booking"),
        sender=sender or senders_from_settings(settings, settings.outbox_dir / "booking", clock),
        throttles=BookingThrottles.create(settings, clock),
    )
    # The handlers need the context, and the context holds the worker.
    worker.handlers = dict(tasks.handlers(ctx))
    with database.transaction() as session:
        sample = session.scalars(select(Tenant.hub_api_key_sealed).limit(1)).first()
    check_box(ctx.box, sample, "booking")
    return ctx
