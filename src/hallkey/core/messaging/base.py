"""The extension point for sending messages (SMS gateways, email servers)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


class SendError(Exception):
    """A message could not be sent; `retryable` tells whether trying later may help.

    `reason` is the provider's answer as a short code (`smtp_550`, `twilio_21211`,
    `gateway_400`, `timeout`): it is stored on the delivery and shown to the client, so it,
    like the message, holds no address, code or text of the message.
    """

    def __init__(self, message: str, *, retryable: bool, reason: str | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.reason = (reason or ("unavailable" if retryable else "rejected"))[:64]


@dataclass(frozen=True)
class Attachment:
    """A file sent with an email (e.g. a reservation as `text/calendar`)."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class OutgoingMessage:
    """One rendered SMS (`subject` None) or email, ready to send.

    `body` is the plain text; an email may also carry an HTML alternative and attachments.
    `sender` is the email's From (the tenant's address, e.g. `Fjellby kommune <booking@…>`);
    None means the sender's configured default.
    """

    delivery_id: str
    channel: str
    to: str
    subject: str | None
    body: str
    html: str | None = None
    attachments: tuple[Attachment, ...] = field(default=())
    sender: str | None = None


class MessageSender(Protocol):
    """Sends one SMS or email.

    `send` is called from the `deliver` job, outside any database transaction, once per
    try; it either hands the message over for good or raises `SendError` (with
    `retryable=True` for a temporary failure such as a gateway timeout, after which the job
    tries again with backoff).

    A sender MUST treat `delivery_id` as an idempotency key: it is called again for a message
    it may already have sent (a crash between sending and recording it sent, a job taken over
    after its lease), and that call must not send a second message. A provider with
    idempotency keys gets the delivery id as its key; one without keeps a record of the ids it
    sent (the outbox folder: one file per id) and checks it before sending.
    """

    def send(self, message: OutgoingMessage) -> None:
        """Sends the message, or raises SendError."""
        ...

    def purge_older_than(self, cutoff: datetime) -> int:
        """Deletes whatever copies of messages sent before `cutoff` the sender keeps (they
        hold addresses and codes); returns how many. A sender that keeps none returns 0."""
        ...
