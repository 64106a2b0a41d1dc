"""Deliveries: a grant's messages and the operator's alerts (templates, the deliver job, its
outcomes, reminders, alerts); the senders are shared: `hallkey.core.messaging`."""

from hallkey.core.messaging import MessageSender, OutboxFolderSender, OutgoingMessage, SendError
from hallkey.hub.delivery.templates import render

__all__ = ["MessageSender", "OutboxFolderSender", "OutgoingMessage", "SendError", "render"]
