"""The extension point for sending messages (SMS gateways, email servers)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class SendError(Exception):
    """A message could not be sent; `retryable` tells whether trying later may help.

    The message holds no address, code or text of the message.
    """

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class OutgoingMessage:
    """One rendered SMS (`subject` None) or email, ready to send."""

    delivery_id: str
    channel: str
    to: str
    subject: str | None
    body: str


class MessageSender(Protocol):
    """Sends one SMS or email.

    `send` is called from the `deliver` job, outside any database transaction, once per
    try; it either hands the message over for good or raises `SendError` (with
    `retryable=True` for a temporary failure such as a gateway timeout, after which the job
    tries again with backoff). A sender may be called again for a message it already sent
    (at-least-once), so a gateway that supports it should use `delivery_id` to deduplicate.
    """

    def send(self, message: OutgoingMessage) -> None:
        """Sends the message, or raises SendError."""
        ...

    def purge_older_than(self, cutoff: datetime) -> int:
        """Deletes whatever copies of messages sent before `cutoff` the sender keeps (they
        hold addresses and codes); returns how many. A sender that keeps none returns 0."""
        ...
