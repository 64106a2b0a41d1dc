"""A client's webhook: where door events and grant states are posted, signed as the Standard
Webhooks specification says.

Each message is a row written in the same transaction as the change it tells of (the outbox),
with one `send_webhook` job that posts it at once, retries it on the settings' schedule (and
sooner when the receiver answers again), and then dead-letters it for an operator to replay.
While a client has a webhook its door events go there instead of through the forwarding job
(which stays for clients without one).
Services only: the caller owns the transaction.
"""

from __future__ import annotations

import base64
import functools
import logging
import secrets
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from hallkey.core.db import plain_insert, table_of
from hallkey.core.errors import Conflict, NotFound
from hallkey.core.ids import new_id
from hallkey.hub import repository as repo
from hallkey.hub.context import HubContext
from hallkey.hub.models import Client, Grant, GrantDoor, WebhookMessage
from hallkey.hub.webhook_schemas import DeadLetterOut, NewWebhookOut, WebhookOut
from hallkey.hub.webhook_targets import checked_url

log = logging.getLogger(__name__)

SEND_JOB = "send_webhook"
DOOR_EVENT = "door.event"
GRANT_STATE = "grant.state"
SECRET_BYTES = 32


def new_secret() -> str:
    """Returns a fresh Standard Webhooks secret (`whsec_` and base64 of 32 random bytes)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def peer_of(client_id: str) -> str:
    """Returns the job peer of a client's webhook: its messages wait and wake together."""
    return f"webhook:{client_id}"


def has_webhook(client: Client) -> bool:
    """Tells whether the client takes its messages by webhook."""
    return bool(client.webhook_url and client.webhook_secret_sealed)


def set_webhook(
    ctx: HubContext,
    session: Session,
    client: Client,
    *,
    url: str,
    secret: str | None,
    allow_private: bool = False,
) -> NewWebhookOut:
    """Sets the client's webhook (a new secret when none is given); the secret is in this
    answer only. `allow_private` is the operator's to give."""
    allowed = allow_private or ctx.settings.hub_webhook_allow_private
    client.webhook_url = checked_url(url, allow_private=allowed)
    secret = secret or new_secret()
    client.webhook_secret_sealed = ctx.box.seal(secret)
    client.webhook_allow_private = allow_private
    session.flush()
    log.info("client %s: webhook set", client.id)
    return NewWebhookOut(**webhook_view(session, client).model_dump(), secret=secret)


def clear_webhook(ctx: HubContext, session: Session, client: Client) -> None:
    """Removes the client's webhook; its undelivered messages become dead letters (an
    operator can replay them once it has one again), its door events are forwarded again."""
    client.webhook_url = None
    client.webhook_secret_sealed = None
    client.webhook_allow_private = False
    for message in session.scalars(
        select(WebhookMessage).where(
            WebhookMessage.client_id == client.id, WebhookMessage.state == "pending"
        )
    ):
        message.state = "dead"
        message.last_error = "webhook_removed"
    session.flush()
    log.info("client %s: webhook removed", client.id)


def webhook_view(session: Session, client: Client) -> WebhookOut:
    """Returns the client's webhook as the API shows it (never the secret)."""
    counts: dict[str, int] = dict(
        session.execute(
            select(WebhookMessage.state, func.count())
            .where(WebhookMessage.client_id == client.id)
            .where(WebhookMessage.state.in_(("pending", "dead")))
            .group_by(WebhookMessage.state)
        ).all()
    )
    return WebhookOut(
        url=client.webhook_url,
        state="active" if has_webhook(client) else "none",
        allow_private=client.webhook_allow_private,
        pending=counts.get("pending", 0),
        dead=counts.get("dead", 0),
    )


def enqueue_message(
    ctx: HubContext,
    session: Session,
    client_id: str,
    kind: str,
    data: Mapping[str, Any],
    *,
    topic: str | None = None,
    new_topic: bool = False,
) -> str:
    """Writes a message for the client's webhook and the job that sends it now.

    A message with a `topic` is the latest word on it: while an earlier one on the same topic
    waits (or is being sent), that one is given the new content and a new version instead, so
    a grant whose doors are programmed one after the other costs the receiver one request, not
    one per door. The sender re-sends when the version changed while it was posting.
    `new_topic` says that nothing was said on the topic yet (a grant made in this
    transaction): no earlier message is looked for.
    """
    if topic is not None and not new_topic:
        replaced = _replace_waiting(ctx, session, client_id, topic, kind, data)
        if replaced is not None:
            return replaced
    message_id = new_id("msg")
    now = ctx.clock.now()
    session.execute(
        plain_insert(WebhookMessage),
        {
            "id": message_id,
            "client_id": client_id,
            "type": kind,
            "payload": dict(data),
            "state": "pending",
            "attempts": 0,
            "last_error": None,
            "created_at": now,
            "retry_from_at": now,
            "delivered_at": None,
            "topic": topic,
            "version": 1,
        },
    )
    # A message on a topic waits a moment for the next word on it (see the setting).
    settle = ctx.settings.hub_webhook_settle_seconds if topic is not None else 0
    ctx.jobs.enqueue(
        session,
        SEND_JOB,
        {"message_id": message_id},
        peer=peer_of(client_id),
        run_at=now + timedelta(seconds=settle) if settle else None,
    )
    return message_id


def _replace_waiting(
    ctx: HubContext,
    session: Session,
    client_id: str,
    topic: str,
    kind: str,
    data: Mapping[str, Any],
) -> str | None:
    """Gives the message waiting on `topic` (if any) this content and its next version, in one
    statement; returns its id, or None when none waits."""
    replaced = session.execute(
        _replace_waiting_statement(),
        {
            "on_topic": topic,
            "of_client": client_id,
            "kind": kind,
            "content": dict(data),
            "now": ctx.clock.now(),
        },
    ).first()
    return None if replaced is None else str(replaced[0])


@functools.cache
def _replace_waiting_statement() -> Any:
    """Built once, of the table: no message is held as an object in the sessions that write
    one, so there is nothing for the ORM to keep in step (and its bulk path costs twice)."""
    messages = table_of(WebhookMessage).c
    waiting = (
        select(messages.id)
        .where(
            messages.topic == bindparam("on_topic"),
            messages.state == "pending",
            messages.client_id == bindparam("of_client"),
        )
        .limit(1)
        .scalar_subquery()
    )
    return (
        update(table_of(WebhookMessage))
        # `pending` again on the row itself: PostgreSQL checks it anew once the row's lock is
        # had, so a message settled meanwhile is left alone (a new one is written instead).
        .where(messages.id == waiting, messages.state == "pending")
        .values(
            type=bindparam("kind", type_=messages.type.type),
            payload=bindparam("content", type_=messages.payload.type),
            version=messages.version + 1,
            created_at=bindparam("now", type_=messages.created_at.type),
        )
        .returning(messages.id)
    )


def grant_state_changed(
    ctx: HubContext,
    session: Session,
    grant: Grant,
    *,
    client: Client | None = None,
    rows: Sequence[GrantDoor] | None = None,
    new: bool = False,
) -> None:
    """Tells the client's webhook (if it has one) the grant's state now: ref, state, revision
    and each door's state.

    A caller that holds them already gives the grant's `client` and all its door `rows` as they
    are now in this transaction (in door id order), and says whether the grant is `new` (made
    in this transaction); they are read here otherwise.
    """
    if client is None:
        client = session.get(Client, grant.client_id)
    if client is None or not has_webhook(client):
        return
    if rows is None:
        rows = repo.grant_doors(session, grant.id)
    data = {
        "ref": grant.ref,
        "state": grant.state,
        "revision": grant.revision,
        "doors": [
            {"id": row.door_id, "state": row.state, "errors": list(row.errors)} for row in rows
        ],
    }
    enqueue_message(
        ctx, session, client.id, GRANT_STATE, data, topic=f"grant:{grant.id}", new_topic=new
    )


def webhook_id(message: WebhookMessage) -> str:
    """The `webhook-id` of a message's current content: its id, and its version once it was
    replaced (a receiver drops a repeat of one content, never a newer one)."""
    return message.id if message.version == 1 else f"{message.id}.{message.version}"


def dead_letters(session: Session, *, limit: int) -> list[DeadLetterOut]:
    """Returns the dead-lettered messages, oldest first."""
    rows = session.scalars(
        select(WebhookMessage)
        .where(WebhookMessage.state == "dead")
        .order_by(WebhookMessage.created_at, WebhookMessage.id)
        .limit(limit)
    )
    return [_letter(message) for message in rows]


def _letter(message: WebhookMessage) -> DeadLetterOut:
    return DeadLetterOut(
        id=message.id,
        client_id=message.client_id,
        type=message.type,
        attempts=message.attempts,
        last_error=message.last_error,
        created_at=message.created_at,
        payload=dict(message.payload),
    )


def replay(ctx: HubContext, session: Session, message_id: str) -> DeadLetterOut:
    """Sends a dead letter again (same `webhook-id`, so a receiver that took it drops it), on a
    fresh retry schedule (its `attempts` count from zero again)."""
    message = session.get(WebhookMessage, message_id, with_for_update=True)
    if message is None:
        raise NotFound("unknown webhook message", field="message_id")
    if message.state != "dead":
        raise Conflict("the message is not a dead letter", field="message_id", code="not_dead")
    client = session.get(Client, message.client_id)
    if client is None or not has_webhook(client):
        raise Conflict("the client has no webhook", field="message_id", code="no_webhook")
    message.state = "pending"
    message.attempts = 0
    message.retry_from_at = ctx.clock.now()
    message.last_error = None
    session.flush()
    ctx.jobs.enqueue(session, SEND_JOB, {"message_id": message.id}, peer=peer_of(client.id))
    log.info("webhook message %s replayed", message.id)
    return _letter(message)
