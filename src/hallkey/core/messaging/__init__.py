"""How messages leave a context: the `MessageSender` extension point and its senders.

Shared by the hub (a grant's SMS and emails) and the booking system (its own emails to its
customers); each context renders its own texts and keeps its own delivery records.
"""

from hallkey.core.messaging.base import Attachment, MessageSender, OutgoingMessage, SendError
from hallkey.core.messaging.outbox import OutboxFolderSender

__all__ = ["Attachment", "MessageSender", "OutboxFolderSender", "OutgoingMessage", "SendError"]
