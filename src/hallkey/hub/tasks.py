"""The hub's background jobs. None holds a transaction open across a call to a device or peer."""

from __future__ import annotations

import logging
from datetime import timedelta

from hallkey.core.jobs import Handler, JobRun
from hallkey.hub import (
    forwarding,
    mqtt_events,
    programming,
    reconcile,
    retention,
    service,
    unlock_windows,
    webhook_sender,
    webhooks,
)
from hallkey.hub.context import PURGE_JOB, RECONCILE_ALL_JOB, HubContext
from hallkey.hub.delivery import reminders, sending
from hallkey.hub.domain import (
    retention_cutoff,
)

log = logging.getLogger(__name__)

PURGE_EVERY = timedelta(hours=1)


def handlers(ctx: HubContext) -> dict[str, Handler]:
    """Returns the hub's job handlers by kind."""
    return {
        service.PROGRAM_JOB: lambda job: programming.program_doors(ctx, job),
        service.DELIVER_JOB: lambda job: sending.deliver(ctx, job),
        reminders.REMIND_JOB: lambda job: reminders.remind(ctx, job),
        service.FORWARD_JOB: lambda job: forward_events(ctx, job),
        webhooks.SEND_JOB: lambda job: webhook_sender.send_webhook(ctx, job),
        PURGE_JOB: lambda job: purge_recipients(ctx, job),
        RECONCILE_ALL_JOB: lambda job: reconcile.reconcile_doors(ctx, job),
        reconcile.RECONCILE_DOOR_JOB: lambda job: reconcile.reconcile_door(ctx, job),
        unlock_windows.UNLOCK_WINDOW_JOB: lambda job: unlock_windows.open_window(ctx, job),
        mqtt_events.LISTEN_JOB: lambda job: mqtt_events.listen_job(ctx, job),
    }


def forward_events(ctx: HubContext, job: JobRun) -> None:
    """Forwards a client's door events to its events URL until none is left."""
    forwarding.forward_client_events(ctx, str(job.payload["client_id"]))


def purge_recipients(ctx: HubContext, job: JobRun) -> timedelta:
    """Deletes phone and email of grants past their retention; runs again in an hour."""
    now = ctx.clock.now()
    with ctx.database.transaction() as session:
        cutoff = retention_cutoff(now, ctx.settings.hub_retention_days)
        count = retention.purge_recipients(session, cutoff, now)
        answers = retention.purge_sms_answers(session, cutoff)
        webhooks_purged = retention.purge_delivered_webhooks(session, cutoff)
    if webhooks_purged:
        log.info("%d delivered webhook messages past retention deleted", webhooks_purged)
    if answers:
        log.info("%d answers to inbound SMS past retention deleted", answers)
    if count:
        log.info("recipients of %d grants deleted", count)
    removed = ctx.sender.purge_older_than(now - timedelta(days=ctx.settings.hub_retention_days))
    if removed:
        log.info("%d delivered messages past retention deleted", removed)
    return PURGE_EVERY
