"""Sending one webhook message: signed (Standard Webhooks), posted, retried on a schedule
(and as soon as the receiver answers again), dead-lettered when the schedule is over.

The body is `{"type", "timestamp", "data"}`; the headers `webhook-id` (the message id, the same
on every try), `webhook-timestamp` (this try's time) and `webhook-signature` (`v1,` and the
HMAC-SHA256 of `id.timestamp.body` under the client's secret, made by `standardwebhooks`).
Any 2xx acknowledges the message; a redirect is a failure (never followed).
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from prometheus_client import Counter
from sqlalchemy import Select, bindparam, exists, select, update
from standardwebhooks import Webhook

from hallkey import __version__
from hallkey.core.db import table_of
from hallkey.core.jobs import JobRun, RetryLater
from hallkey.hub.context import HubContext
from hallkey.hub.models import Client, WebhookMessage
from hallkey.hub.webhook_targets import TargetRefused, check_target
from hallkey.hub.webhooks import webhook_id

log = logging.getLogger(__name__)

WEBHOOKS_SENT = Counter(
    "hallkey_hub_webhook_messages_total",
    "Webhook messages tried, by outcome (delivered, failed, dead)",
    ["outcome"],
)

_clients: dict[float, httpx.Client] = {}
_clients_lock = threading.Lock()


def _http(timeout_seconds: float) -> httpx.Client:
    """Returns the process's client for webhooks: pooled, no auth header, no redirects."""
    with _clients_lock:
        client = _clients.get(timeout_seconds)
        if client is None or client.is_closed:
            client = httpx.Client(
                timeout=timeout_seconds,
                follow_redirects=False,
                headers={"User-Agent": f"hallkey/{__version__}"},
            )
            _clients[timeout_seconds] = client
        return client


def send_webhook(ctx: HubContext, job: JobRun) -> None:
    """Posts one message to its client's webhook and settles it; posts again when the
    message was given newer content while it was on its way (see `webhooks.enqueue_message`)."""
    message_id = str(job.payload["message_id"])
    while True:
        attempt = _read_attempt(ctx, message_id)
        if attempt is None:
            return
        error = _post(ctx, attempt)
        if error is None:
            if not _settle(ctx, message_id, delivered=True, error=None, version=attempt.version):
                continue  # replaced while it was posted: the newer content goes now
            WEBHOOKS_SENT.labels("delivered").inc()
            return
        break
    wait = next_wait(ctx.settings.hub_webhook_retry_seconds, ctx.clock.now() - attempt.retry_from)
    if wait is None:
        _settle(ctx, message_id, delivered=False, error=error, dead=True)
        WEBHOOKS_SENT.labels("dead").inc()
        log.warning(
            "webhook message %s dead-lettered after %d tries: %s", message_id, attempt.tries, error
        )
        return
    _settle(ctx, message_id, delivered=False, error=error)
    WEBHOOKS_SENT.labels("failed").inc()
    # A failed try towards the client's peer: while it waits, the worker's peer probe tries one
    # of the client's messages every few seconds, and the first that goes through wakes all the
    # others, so a receiver that is back gets its backlog at once, whatever the schedule.
    raise RetryLater(f"webhook {message_id}: {error}", after_seconds=wait)


@dataclass(frozen=True)
class _Attempt:
    """One try of a message, as read before posting (no transaction is held while posting)."""

    url: str
    secret: str
    allow_private: bool
    webhook_id: str
    version: int
    body: str
    tries: int
    retry_from: datetime


@functools.cache
def _message_with_client() -> Select[WebhookMessage, Client]:
    return (
        select(WebhookMessage, Client)
        .outerjoin(Client, Client.id == WebhookMessage.client_id)
        .where(WebhookMessage.id == bindparam("message_id"))
    )


def _read_attempt(ctx: HubContext, message_id: str) -> _Attempt | None:
    with ctx.database.read() as session:
        found = session.execute(_message_with_client(), {"message_id": message_id}).first()
        if found is None:
            return None
        message, client = found
        if message.state != "pending":
            return None
        if client is not None and client.webhook_url and client.webhook_secret_sealed:
            return _Attempt(
                url=client.webhook_url,
                secret=ctx.box.open(client.webhook_secret_sealed),
                allow_private=client.webhook_allow_private
                or ctx.settings.hub_webhook_allow_private,
                webhook_id=webhook_id(message),
                version=message.version,
                body=json.dumps(
                    {
                        "type": message.type,
                        "timestamp": message.created_at.isoformat().replace("+00:00", "Z"),
                        "data": message.payload,
                    },
                    separators=(",", ":"),
                ),
                tries=message.attempts + 1,
                retry_from=message.retry_from_at,
            )
    # The webhook was removed meanwhile. `clear_webhook` made the messages then waiting dead
    # letters; one written by a request that saw the webhook a moment before it went (the
    # request takes its client as the guard read it) is made one here, unless it is back.
    has_webhook = exists().where(
        Client.id == WebhookMessage.client_id,
        Client.webhook_url.is_not(None),
        Client.webhook_secret_sealed.is_not(None),
    )
    with ctx.database.transaction() as session:
        session.execute(
            update(WebhookMessage)
            .where(WebhookMessage.id == message_id, WebhookMessage.state == "pending")
            .where(~has_webhook)
            .values(state="dead", last_error="webhook_removed")
            .execution_options(synchronize_session=False)
        )
    return None


def next_wait(schedule: Sequence[float], elapsed: timedelta) -> float | None:
    """Returns the seconds until the next try of a message that failed `elapsed` after its
    schedule started, or None when the schedule is over (it is then a dead letter).

    The tries are at fixed points (5 s, 35 s, 2 min 35 s, … after the start), so a try made
    early by a probe does not push the later ones back or use one up.
    """
    seconds = elapsed.total_seconds()
    point = 0.0
    for wait in schedule:
        point += wait
        if point > seconds:
            return point - seconds
    return None


def _post(ctx: HubContext, attempt: _Attempt) -> str | None:
    """Posts the signed body; returns None when acknowledged, else a short error code."""
    try:
        # Again at each send: the name may resolve elsewhere now than when it was set; the post
        # goes to the address checked here, not to a fresh resolution.
        target = check_target(attempt.url, allow_private=attempt.allow_private)
    except TargetRefused as exc:
        return exc.code
    now = ctx.clock.now()
    headers = {
        **target.headers,
        "content-type": "application/json",
        "webhook-id": attempt.webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(attempt.secret).sign(attempt.webhook_id, now, attempt.body),
    }
    try:
        response = _http(ctx.settings.http_timeout_seconds).post(
            target.url,
            content=attempt.body.encode(),
            headers=headers,
            extensions=target.extensions,
        )
    except httpx.HTTPError as exc:
        return f"unreachable_{type(exc).__name__}".lower()[:64]
    if 200 <= response.status_code < 300:
        return None
    return f"http_{response.status_code}"


@functools.cache
def _settle_statement(outcome: str, at_version: bool) -> Any:
    """The UPDATE of `_settle` for one outcome (`delivered`, `dead`, or a try that failed:
    `pending`), checking the version when `at_version`; built once each, of the table."""
    messages = table_of(WebhookMessage).c
    settled = update(table_of(WebhookMessage)).where(
        messages.id == bindparam("message_id"), messages.state == "pending"
    )
    if at_version:
        settled = settled.where(messages.version == bindparam("at_version"))
    values: dict[str, Any] = {
        "attempts": messages.attempts + 1,
        "last_error": bindparam("error_text", type_=messages.last_error.type),
    }
    if outcome == "delivered":
        values.update(
            state="delivered",
            delivered_at=bindparam("now", type_=messages.delivered_at.type),
        )
    elif outcome == "dead":
        values.update(state="dead")
    return settled.values(values).returning(messages.id)


def _settle(
    ctx: HubContext,
    message_id: str,
    *,
    delivered: bool,
    error: str | None,
    dead: bool = False,
    version: int | None = None,
) -> bool:
    """Records one try of a message; tells whether it was settled (a delivery of `version` is
    not, when the message has been given newer content since).

    One conditional UPDATE (on PostgreSQL its conditions are checked again once the row's lock
    is had); only when it matched nothing is the message read, to tell which case that was.
    """
    outcome = "delivered" if delivered else "dead" if dead else "pending"
    statement = _settle_statement(outcome, delivered and version is not None)
    parameters = {
        "message_id": message_id,
        "at_version": version,
        "error_text": error,
        "now": ctx.clock.now(),
    }
    with ctx.database.transaction() as session:
        matched = session.execute(statement, parameters).first()
        if matched is not None or not (delivered and version is not None):
            return True
        message = session.get(WebhookMessage, message_id)
        # Still pending, at another version: replaced while it was posted.
        return message is None or message.state != "pending"
