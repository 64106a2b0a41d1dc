"""The hub context: its database, jobs, worker, secrets, connectors and message sender."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select

from hallkey.core.clock import Clock
from hallkey.core.db import Database
from hallkey.core.jobs import JobQueue, Worker, worker_name
from hallkey.core.messaging.base import MessageSender
from hallkey.core.messaging.factory import senders_from_settings
from hallkey.core.migrations import upgrade
from hallkey.core.security import SecretBox, check_box, derive_key
from hallkey.core.settings import Settings
from hallkey.hub.connectors.registry import ConnectorRegistry
from hallkey.hub.models import Client, Door, Site, jobs_table
from hallkey.hub.throttles import HubThrottles

if TYPE_CHECKING:
    from hallkey.hub.mqtt_events import MqttEventReader

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "hub_alembic_version"
PURGE_JOB = "purge_recipients"
PURGE_JOB_ID = "job_purge_recipients"
RECONCILE_ALL_JOB = "reconcile_doors"
RECONCILE_ALL_JOB_ID = "job_reconcile_doors"


@dataclass
class HubContext:
    """Everything the hub's API and jobs need."""

    settings: Settings
    clock: Clock
    database: Database
    jobs: JobQueue
    box: SecretBox
    digest_key: bytes
    connectors: ConnectorRegistry
    sender: MessageSender
    worker: Worker = field(init=False)
    throttles: HubThrottles = field(init=False)
    # Sites heard from since this process started (the first call of each is a reconnect).
    sites_seen: set[str] = field(default_factory=set, init=False)
    mqtt_events: MqttEventReader = field(init=False)

    def close(self) -> None:
        """Releases the database connections and the connectors' connections."""
        self.mqtt_events.close()
        self.connectors.close()
        self.database.dispose()


def create_context(
    settings: Settings,
    clock: Clock,
    *,
    migrate: bool = True,
    sender: MessageSender | None = None,
) -> HubContext:
    """Returns a ready hub context (its database migrated when `migrate`)."""
    from hallkey.hub import tasks
    from hallkey.hub.mqtt_events import LISTEN_JOB, LISTEN_JOB_ID, MqttEventReader

    url = settings.database_url("hub")
    if migrate:
        upgrade(url, MIGRATIONS, VERSION_TABLE)
    database = Database(url, name="hub", connections=settings.database_connections)
    master = settings.master_secret
    ctx = HubContext(
        settings=settings,
        clock=clock,
        database=database,
        jobs=JobQueue(database, jobs_table, clock),
        box=SecretBox.for_purpose(master, "hub"),
        digest_key=derive_key(master, "hub-digest"),
        connectors=ConnectorRegistry(clock, settings.http_timeout_seconds),
        sender=sender or senders_from_settings(settings, settings.outbox_dir, clock),
    )
    ctx.throttles = HubThrottles.create(clock)
    ctx.mqtt_events = MqttEventReader(ctx)
    ctx.worker = Worker(
        name=worker_name("hub"),
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
        tokens = select(Client.events_token_sealed).where(Client.events_token_sealed.is_not(None))
        sample = session.scalars(select(Site.config_sealed).limit(1)).first()
        sample = sample or session.scalars(tokens.limit(1)).first()
    check_box(ctx.box, sample, "hub")
    with database.transaction() as session:
        # The in-memory lock system starts empty: install the doors of `memory` sites.
        remote_ids = session.scalars(
            select(Door.remote_id)
            .join(Site, Site.id == Door.site_id)
            .where(Site.connector == "memory")
        ).all()
        for remote_id in remote_ids:
            ctx.connectors.memory.add_door(remote_id)
        ctx.jobs.enqueue_once(session, PURGE_JOB_ID, PURGE_JOB)
        ctx.jobs.enqueue_once(session, LISTEN_JOB_ID, LISTEN_JOB)
        # The first round after one interval: a starting hub serves its first grants first.
        first_round = ctx.clock.now() + timedelta(seconds=settings.hub_reconcile_seconds)
        ctx.jobs.enqueue_once(session, RECONCILE_ALL_JOB_ID, RECONCILE_ALL_JOB, run_at=first_round)
    return ctx
