"""How messages leave a context: the `MessageSender` extension point and its senders.

Shared by the hub (a grant's SMS and emails) and the booking system (its own emails to its
customers); each context renders its own texts and keeps its own delivery records.
"""

from hallkey.core.messaging.base import Attachment, MessageSender, OutgoingMessage, SendError
from hallkey.core.messaging.factory import ChannelSender, senders_from_settings
from hallkey.core.messaging.outbox import OutboxFolderSender
from hallkey.core.messaging.purge import PurgeGate
from hallkey.core.messaging.segments import MAX_SEGMENTS, SmsLength, sms_length
from hallkey.core.messaging.sms import JsonGatewaySender, TwilioSender
from hallkey.core.messaging.smtp import SmtpSender

__all__ = [
    "MAX_SEGMENTS",
    "Attachment",
    "ChannelSender",
    "JsonGatewaySender",
    "MessageSender",
    "OutboxFolderSender",
    "OutgoingMessage",
    "PurgeGate",
    "SendError",
    "SmsLength",
    "SmtpSender",
    "TwilioSender",
    "senders_from_settings",
    "sms_length",
]
