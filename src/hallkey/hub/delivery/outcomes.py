"""What becomes of a send: the delivery's state, its retries, and an SMS's fallback to email.

A delivery is `queued` until its sender takes it (`sent`) or refuses it for good (`failed`,
with the provider's reason as a short code). A passing failure keeps it `queued` with that
reason and the job retries it with backoff, `DELIVERY_TRIES` times at most. An SMS that fails
for good is sent by email instead when the grant has an email address and no email with the
same message is on its way.

The send runs outside any transaction while the worker renews the job's lease, and every
sender times out well within one lease, so a slow send is not taken over by a second worker.
"""

from __future__ import annotations

import functools
import logging
from datetime import datetime

from sqlalchemy import Update, bindparam, case, update
from sqlalchemy.orm import Session

from hallkey.core.db import table_of
from hallkey.core.jobs import RetryLater
from hallkey.core.messaging.base import OutgoingMessage, SendError
from hallkey.hub import repository as repo
from hallkey.hub import service
from hallkey.hub.context import HubContext
from hallkey.hub.delivery.generations import SUPERSEDED
from hallkey.hub.models import Delivery, Grant

log = logging.getLogger(__name__)

DELIVERY_TRIES = 8
"""Tries of one message before it fails for good (with the backoff, about half an hour)."""


def send(ctx: HubContext, message: OutgoingMessage) -> None:
    """Sends a rendered delivery and records the outcome; raises RetryLater for a passing
    failure."""
    try:
        ctx.sender.send(message)
    except SendError as exc:
        if not record_failure(ctx, message.delivery_id, exc):
            raise RetryLater(f"delivery {message.delivery_id}: {exc.reason}") from None
        return
    with ctx.database.transaction() as session:
        _mark_sent(session, message.delivery_id, ctx.clock.now())
    log.info("delivery %s sent by %s", message.delivery_id, message.channel)


def _mark_sent(session: Session, delivery_id: str, at: datetime) -> None:
    """Records a delivery as sent (one try more) in one statement, without reading it first;
    a message about a code the grant no longer holds keeps its `superseded` mark."""
    session.execute(_mark_sent_statement(), {"delivery_id": delivery_id, "at": at})


@functools.cache
def _mark_sent_statement() -> Update:
    deliveries = table_of(Delivery).c
    return (
        update(table_of(Delivery))
        .where(deliveries.id == bindparam("delivery_id"))
        .values(
            state="sent",
            attempts=deliveries.attempts + 1,
            sent_at=bindparam("at", type_=deliveries.sent_at.type),
            error=case((deliveries.error == SUPERSEDED, deliveries.error), else_=None),
        )
    )


def record_failure(ctx: HubContext, delivery_id: str, exc: SendError) -> bool:
    """Records a failed try; tells whether the delivery has failed for good."""
    with ctx.database.transaction() as session:
        delivery = session.get(Delivery, delivery_id)
        if delivery is None:
            return True
        delivery.attempts += 1
        if delivery.state != "queued":
            return True  # settled meanwhile (superseded): nothing more to do
        delivery.error = exc.reason
        if exc.retryable and delivery.attempts < DELIVERY_TRIES:
            log.info("delivery %s: %s (try %d)", delivery_id, exc.reason, delivery.attempts)
            return False
        delivery.state = "failed"
        log.warning("delivery %s failed for good: %s", delivery_id, exc.reason)
        _fall_back_to_email(ctx, session, delivery)
    return True


def _fall_back_to_email(ctx: HubContext, session: Session, failed: Delivery) -> None:
    """Queues the message of a failed SMS by email, if the grant has an address for it."""
    if failed.channel != "sms" or failed.grant_id is None:
        return
    grant = session.get(Grant, failed.grant_id)
    if grant is None or grant.recipient_email_sealed is None:
        return
    underway = [
        d
        for d in repo.deliveries(session, grant.id)
        if d.channel == "email"
        and d.template == failed.template
        and d.window_at == failed.window_at
        and d.created_at >= failed.created_at
        and d.state != "failed"
    ]
    if underway:
        return  # the same message goes (or went) by email already
    service._add_deliveries(
        ctx, session, grant, failed.template, ["email"], window_at=failed.window_at
    )
    log.info("delivery %s: sent by email instead", failed.id)
