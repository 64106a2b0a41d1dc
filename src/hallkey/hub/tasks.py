"""The hub's background jobs. None holds a transaction open across a call to a device or peer."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from prometheus_client import Counter
from sqlalchemy.orm import Session

from hallkey.core.jobs import Handler, JobRun, RetryLater
from hallkey.hub import (
    forwarding,
    mqtt_events,
    reconcile,
    service,
    unlock_windows,
    webhook_sender,
    webhooks,
)
from hallkey.hub import repository as repo
from hallkey.hub.connectors.base import (
    ERROR_CODES,
    ConnectorError,
    Credential,
    DoorTarget,
    LockConnector,
)
from hallkey.hub.context import PURGE_JOB, RECONCILE_ALL_JOB, HubContext
from hallkey.hub.credentials import credential_type, signing
from hallkey.hub.delivery import alerts, reminders, sending
from hallkey.hub.domain import (
    PROGRAM_TRIES_BEFORE_FAILED,
    SLOW_RETRY_SECONDS,
    retention_cutoff,
)
from hallkey.hub.models import Client, Grant, GrantDoor

log = logging.getLogger(__name__)

CODE_CLASH_RETRY_SECONDS = 30.0
"""Wait before programming a door again after it refused the code as held by another ref."""

DOOR_FAILURES = Counter(
    "hallkey_hub_door_failures_total",
    "Doors of a grant that turned `failed` (an operator should look), by error code",
    ["code"],
)
PURGE_EVERY = timedelta(hours=1)
MAX_REPROGRAM_ROUNDS = 5


def handlers(ctx: HubContext) -> dict[str, Handler]:
    """Returns the hub's job handlers by kind."""
    return {
        service.PROGRAM_JOB: lambda job: program_door(ctx, job),
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


def program_door(ctx: HubContext, job: JobRun) -> None:
    """Brings one door of a grant to its desired state through the site's connector."""
    grant_id = str(job.payload["grant_id"])
    door_id = str(job.payload["door_id"])
    for _ in range(MAX_REPROGRAM_ROUNDS):
        # Only reads: the outcome is settled under the grant's and the door's row locks, against
        # the version read here, so this need not queue for SQLite's write lock.
        with ctx.database.read() as session:
            found = repo.grant_door_in_full(session, grant_id, door_id)
            if found is None:
                return
            row, grant, door, site = found
            if row.programmed_version >= row.desired_version and row.state != "pending":
                return
            version = row.desired_version
            action = row.action
            ref = grant.ref
            target = service.door_target(door)
            connector = service.site_connector(ctx, site)
            credential: Credential | None = None
            kind = credential_type(grant.credential)
            unlock = grant.operation == "unlock"
            # A credential the hub alone checks (a URL key) has nothing to put on the door; an
            # unlock grant always has: its schedule.
            at_door = unlock or kind is None or kind.stored_at_door
            # A device that takes one opening at a time needs the hub at each window's start.
            opens_each_window = action == "program" and unlock and not connector.keeps_schedules
            if action == "program" and unlock:
                # An unlock grant programs a schedule, not its credential: no code.
                windows = tuple(repo.grant_windows(session, grant_id))
                credential = Credential(type="unlock", code=None, windows=windows, version=version)
            elif action == "program" and at_door:
                windows = tuple(repo.grant_windows(session, grant_id))
                credential = Credential(
                    type=grant.credential,
                    code=kind.door_code(ctx, grant) if kind else None,
                    windows=windows,
                    version=version,
                    # The reader of a mobile key verifies it offline with these.
                    keys=tuple(signing.published(ctx, session))
                    if grant.credential == "mobile_key"
                    else (),
                )
        try:
            if at_door:
                _apply(connector, target, ref, credential, version)
        except ConnectorError as exc:
            # A code clash can be passing: another grant's move that its door has not heard
            # of yet. It is retried like an offline door (and shown `failed` after a few tries).
            retryable = exc.retryable or exc.code == "code_rejected"
            _record_failure(ctx, grant_id, door_id, version, exc, retryable=retryable)
            if exc.code == "code_rejected":
                # The lock answered: probing it sooner cannot help; the clash ends when the
                # other grant's change lands there.
                raise RetryLater(
                    f"door {door_id}: {exc.code}",
                    after_seconds=CODE_CLASH_RETRY_SECONDS,
                    keep_schedule=True,
                ) from None
            if retryable:
                raise RetryLater(f"door {door_id}: {exc.code}") from None
            # Refused for good as things stand (a full door, an unknown door): an operator
            # may mend it, and the door must then follow without anyone asking. Slowly.
            raise RetryLater(
                f"door {door_id}: {exc.code}", after_seconds=SLOW_RETRY_SECONDS, keep_schedule=True
            ) from None
        if _record_success(ctx, grant_id, door_id, version, action, ref):
            if opens_each_window and credential is not None:
                unlock_windows.queue_window_openings(ctx, grant_id, door_id, credential.windows)
            return
    raise RetryLater(f"door {door_id}: desired state keeps moving")


def _apply(
    connector: LockConnector,
    target: DoorTarget,
    ref: str,
    credential: Credential | None,
    version: int,
) -> None:
    if credential is None:
        connector.revoke(target, ref, version)
    else:
        connector.program(target, ref, credential)


@dataclass(frozen=True)
class _Locked:
    """What recording a door's outcome works on, locked."""

    grant: Grant
    client: Client | None
    row: GrantDoor
    rows: list[GrantDoor]
    """All the grant's door rows (`row` among them), in door id order."""


def _lock_outcome(session: Session, grant_id: str, door_id: str) -> _Locked | None:
    """Locks the grant's row (read afresh, with its client), then its door rows, as every
    version change does (see hub.grants); None when the grant or this door of it is gone.

    All the grant's door rows, not only this one: the grant's state that its webhook is told
    names every door, and they are read here rather than again. Whoever changes one of them
    holds the grant's lock first, so locking them all adds no wait and no deadlock.
    """
    found = repo.lock_grant_with_client(session, grant_id)
    if found is None:
        return None
    rows = repo.lock_grant_doors(session, grant_id)
    row = next((r for r in rows if r.door_id == door_id), None)
    if row is None:
        return None
    return _Locked(grant=found[0], client=found[1], row=row, rows=rows)


def _record_failure(
    ctx: HubContext,
    grant_id: str,
    door_id: str,
    version: int,
    exc: ConnectorError,
    *,
    retryable: bool,
) -> None:
    now = ctx.clock.now()
    with ctx.database.transaction() as session:
        locked = _lock_outcome(session, grant_id, door_id)
        if locked is None or locked.row.desired_version != version:
            return
        grant, row = locked.grant, locked.row
        row.attempts += 1
        row.errors = [{"code": exc.code, "message": exc.message}]
        turns_failed = row.state != "failed" and (
            not retryable or row.attempts >= PROGRAM_TRIES_BEFORE_FAILED
        )
        if turns_failed:
            row.state = "failed"
            # The operator's alert: ids and the error code only.
            DOOR_FAILURES.labels(exc.code if exc.code in ERROR_CODES else "other").inc()
            log.warning("grant %s door %s failed: %s", grant_id, door_id, exc.code)
            alerts.queue_alert(
                ctx,
                session,
                alerts.PROGRAMMING_FAILED,
                {"door_id": door_id, "ref": grant.ref, "error": exc.code, "action": row.action},
            )
        row.updated_at = now
        repo.add_audit(
            session,
            client_id=grant.client_id,
            ref=grant.ref,
            action=row.action,
            door_id=door_id,
            outcome=exc.code,
            at=now,
        )
        if turns_failed:
            webhooks.grant_state_changed(
                ctx, session, grant, client=locked.client, rows=locked.rows
            )
    log.info("grant %s door %s: %s (retryable=%s)", grant_id, door_id, exc.code, retryable)


def _record_success(
    ctx: HubContext, grant_id: str, door_id: str, version: int, action: str, ref: str
) -> bool:
    """Records the applied version; tells whether the door is now as desired."""
    now = ctx.clock.now()
    with ctx.database.transaction() as session:
        locked = _lock_outcome(session, grant_id, door_id)
        if locked is None:
            return True
        grant, row = locked.grant, locked.row
        if row.desired_version != version:
            # What just landed at the door is stale: a newer program or revoke may have landed
            # before it. Mark the row pending so the current version is applied again, last.
            row.state = "pending"
            return False
        row.programmed_version = max(row.programmed_version, version)
        state = "programmed" if action == "program" else "revoked"
        changed = row.state != state
        row.state = state
        row.errors = []
        row.attempts = 0
        row.updated_at = now
        repo.add_audit(
            session,
            client_id=grant.client_id,
            ref=ref,
            action=action,
            door_id=door_id,
            outcome="ok",
            at=now,
        )
        if changed:
            webhooks.grant_state_changed(
                ctx, session, grant, client=locked.client, rows=locked.rows
            )
    log.info("grant %s door %s: %s ok", grant_id, door_id, action)
    return True


def forward_events(ctx: HubContext, job: JobRun) -> None:
    """Forwards a client's door events to its events URL until none is left."""
    forwarding.forward_client_events(ctx, str(job.payload["client_id"]))


def purge_recipients(ctx: HubContext, job: JobRun) -> timedelta:
    """Deletes phone and email of grants past their retention; runs again in an hour."""
    now = ctx.clock.now()
    with ctx.database.transaction() as session:
        cutoff = retention_cutoff(now, ctx.settings.hub_retention_days)
        count = repo.purge_recipients(session, cutoff, now)
        answers = repo.purge_sms_answers(session, cutoff)
        webhooks_purged = repo.purge_delivered_webhooks(session, cutoff)
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
