"""Deliveries: message templates and the senders that deliver them."""

from hallkey.hub.delivery.base import MessageSender, OutgoingMessage, SendError
from hallkey.hub.delivery.outbox import OutboxFolderSender
from hallkey.hub.delivery.templates import render

__all__ = ["MessageSender", "OutboxFolderSender", "OutgoingMessage", "SendError", "render"]
