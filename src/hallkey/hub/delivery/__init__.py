"""Deliveries: message templates (the senders are shared: `hallkey.core.messaging`)."""

from hallkey.core.messaging import MessageSender, OutboxFolderSender, OutgoingMessage, SendError
from hallkey.hub.delivery.templates import render

__all__ = ["MessageSender", "OutboxFolderSender", "OutgoingMessage", "SendError", "render"]
