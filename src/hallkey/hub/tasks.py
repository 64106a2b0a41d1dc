"""The hub's background jobs. None holds a transaction open across a call to a device or peer."""

from __future__ import annotations

import logging
from datetime import timedelta

from prometheus_client import Counter
from sqlalchemy.orm import Session

from hallkey.core.jobs import GiveUp, Handler, JobRun, RetryLater
from hallkey.core.messaging.base import OutgoingMessage, SendError
from hallkey.hub import (
    forwarding,
    reconcile,
    service,
    unlock_windows,
    views,
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
from hallkey.hub.credentials.sms import door_keyword
from hallkey.hub.delivery.generations import carries_current_code
from hallkey.hub.delivery.templates import render, render_sms_answer
from hallkey.hub.domain import (
    PROGRAM_TRIES_BEFORE_FAILED,
    SLOW_RETRY_SECONDS,
    retention_cutoff,
)
from hallkey.hub.models import Delivery, Door, Grant, GrantDoor, Site

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
        service.DELIVER_JOB: lambda job: deliver(ctx, job),
        service.FORWARD_JOB: lambda job: forward_events(ctx, job),
        webhooks.SEND_JOB: lambda job: webhook_sender.send_webhook(ctx, job),
        PURGE_JOB: lambda job: purge_recipients(ctx, job),
        RECONCILE_ALL_JOB: lambda job: reconcile.reconcile_doors(ctx, job),
        reconcile.RECONCILE_DOOR_JOB: lambda job: reconcile.reconcile_door(ctx, job),
        unlock_windows.UNLOCK_WINDOW_JOB: lambda job: unlock_windows.open_window(ctx, job),
    }


def program_door(ctx: HubContext, job: JobRun) -> None:
    """Brings one door of a grant to its desired state through the site's connector."""
    grant_id = str(job.payload["grant_id"])
    door_id = str(job.payload["door_id"])
    for _ in range(MAX_REPROGRAM_ROUNDS):
        # Only reads: the outcome is settled under the grant's and the door's row locks, against
        # the version read here, so this need not queue for SQLite's write lock.
        with ctx.database.read() as session:
            row = session.get(GrantDoor, (grant_id, door_id))
            grant = session.get(Grant, grant_id)
            door = session.get(Door, door_id)
            site = session.get(Site, door.site_id) if door else None
            if row is None or grant is None or door is None or site is None:
                return
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
        # Grant row, then door row, locked: as every version change does (see hub.grants).
        grant = repo.lock_grant(session, grant_id)
        row = repo.grant_door(session, grant_id, door_id, for_update=True)
        if row is None or grant is None or row.desired_version != version:
            return
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
            webhooks.grant_state_changed(ctx, session, grant)
    log.info("grant %s door %s: %s (retryable=%s)", grant_id, door_id, exc.code, retryable)


def _record_success(
    ctx: HubContext, grant_id: str, door_id: str, version: int, action: str, ref: str
) -> bool:
    """Records the applied version; tells whether the door is now as desired."""
    now = ctx.clock.now()
    with ctx.database.transaction() as session:
        grant = repo.lock_grant(session, grant_id)
        row = repo.grant_door(session, grant_id, door_id, for_update=True)
        if row is None or grant is None:
            return True
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
            webhooks.grant_state_changed(ctx, session, grant)
    log.info("grant %s door %s: %s ok", grant_id, door_id, action)
    return True


def deliver(ctx: HubContext, job: JobRun) -> None:
    """Renders and sends one delivery; the code is read (and shown) only now."""
    delivery_id = str(job.payload["delivery_id"])
    # Read and rendered without SQLite's write lock (a render is slow next to a write); a
    # message that is not to be sent is settled by `_drop`, which checks it is still queued.
    with ctx.database.read() as session:
        delivery = session.get(Delivery, delivery_id)
        if delivery is None or delivery.state != "queued":
            return
        if delivery.grant_id is None:  # an answer to a guest's text
            answer = _sms_answer(ctx, delivery)
            if answer is not None:
                _send(ctx, answer)
            return
        grant = session.get(Grant, delivery.grant_id)
        if grant is None:
            return
        if grant.state == "revoked" and delivery.template != "access_revoked":
            # Never send a code that no longer works.
            _drop(ctx, delivery_id, "grant_revoked")
            log.info("delivery %s dropped: the grant was revoked", delivery_id)
            return
        if delivery.template == "access_revoked" and not _credential_was_sent(session, delivery):
            # Nobody is told that a code they never got stops working.
            _drop(ctx, delivery_id, "nothing_to_revoke")
            log.info("delivery %s dropped: no credential was sent on it", delivery_id)
            return
        sealed = (
            grant.recipient_phone_sealed
            if delivery.channel == "sms"
            else grant.recipient_email_sealed
        )
        if sealed is None:
            _drop(ctx, delivery_id, "no_address", attempted=True)
            log.info("delivery %s failed: no %s address", delivery_id, delivery.channel)
            return
        address = ctx.box.open(sealed)
        rows = [
            row
            for row in repo.grant_doors(session, grant.id)
            if row.action == "program" or delivery.template == "access_revoked"
        ]
        doors = [d for d in (session.get(Door, row.door_id) for row in rows) if d is not None]
        site = session.get(Site, doors[0].site_id) if doors else None
        shown = views.shown_credential(ctx, grant)
        rendered = render(
            delivery.template,
            grant.locale,
            doors=[d.name for d in doors],
            place=site.name if site else "",
            windows=repo.grant_windows(session, grant.id),
            timezone=site.timezone if site else ctx.settings.default_timezone,
            code=shown.code_formatted,
            link=shown.url or shown.mobile_key,
            sms_number=ctx.settings.sms_number if grant.credential == "sms" else None,
            keywords=[door_keyword(d.name) for d in doors],
        )
        channel = delivery.channel
    _send(
        ctx,
        OutgoingMessage(
            delivery_id=delivery_id,
            channel=channel,
            to=address,
            subject=rendered.subject if channel == "email" else None,
            body=rendered.email if channel == "email" else rendered.sms,
        ),
    )


def _sms_answer(ctx: HubContext, delivery: Delivery) -> OutgoingMessage | None:
    """Returns the answer to a guest's text that `delivery` is, or None (and drops it) when its
    number is gone."""
    if delivery.to_sealed is None:
        _drop(ctx, delivery.id, "no_address", attempted=True)
        return None
    return OutgoingMessage(
        delivery_id=delivery.id,
        channel="sms",
        to=ctx.box.open(delivery.to_sealed),
        subject=None,
        body=render_sms_answer(delivery.template, delivery.locale),
    )


def _send(ctx: HubContext, message: OutgoingMessage) -> None:
    """Sends a rendered delivery and records the outcome (retried while the sender is down)."""
    delivery_id, channel = message.delivery_id, message.channel
    try:
        ctx.sender.send(message)
    except SendError as exc:
        with ctx.database.transaction() as session:
            failed = session.get(Delivery, delivery_id)
            if failed is not None:
                failed.attempts += 1
                if not exc.retryable:
                    failed.state = "failed"
                    failed.error = "rejected"
        if exc.retryable:
            raise RetryLater(f"delivery {delivery_id}: sender unavailable") from None
        raise GiveUp(f"delivery {delivery_id}: sender refused") from None
    with ctx.database.transaction() as session:
        sent = session.get(Delivery, delivery_id)
        if sent is not None:
            sent.state = "sent"
            sent.attempts += 1
            sent.sent_at = ctx.clock.now()
    log.info("delivery %s sent by %s", delivery_id, channel)


def _drop(ctx: HubContext, delivery_id: str, error: str, *, attempted: bool = False) -> None:
    """Marks a still queued delivery `failed` with `error`, without sending it."""
    with ctx.database.transaction() as session:
        delivery = session.get(Delivery, delivery_id)
        if delivery is None or delivery.state != "queued":
            return
        delivery.state = "failed"
        delivery.error = error
        if attempted:
            delivery.attempts += 1


def _credential_was_sent(session: Session, revocation: Delivery) -> bool:
    """Tells whether a message with the credential went out on the revocation's channel;
    raises RetryLater while one may still go out (it is dropped, the grant being revoked)."""
    if revocation.grant_id is None:
        return False
    # Only messages with the code the grant holds now: an earlier code (before a revocation
    # and a new grant) was told of its own revocation, or superseded.
    credentials = [
        d
        for d in repo.deliveries(session, revocation.grant_id)
        if d.channel == revocation.channel and carries_current_code(d)
    ]
    if any(d.state == "queued" for d in credentials):
        raise RetryLater(f"delivery {revocation.id}: waits for the credential's delivery")
    return any(d.state == "sent" for d in credentials)


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
