"""The senders a process uses, chosen from its settings."""

from __future__ import annotations

import ssl
from datetime import datetime
from pathlib import Path

from hallkey.core.clock import Clock
from hallkey.core.messaging.base import MessageSender, OutgoingMessage, SendError
from hallkey.core.messaging.outbox import OutboxFolderSender
from hallkey.core.messaging.sms import TWILIO_API, JsonGatewaySender, TwilioSender
from hallkey.core.messaging.smtp import SmtpSender
from hallkey.core.settings import Settings


class ChannelSender:
    """Sends each message through the sender of its channel (`sms` or `email`)."""

    def __init__(self, *, sms: MessageSender, email: MessageSender) -> None:
        self.senders = {"sms": sms, "email": email}

    def send(self, message: OutgoingMessage) -> None:
        """Sends the message through its channel's sender."""
        sender = self.senders.get(message.channel)
        if sender is None:
            raise SendError("unknown channel", retryable=False, reason="channel")
        sender.send(message)

    def purge_older_than(self, cutoff: datetime) -> int:
        """Purges every distinct sender once."""
        distinct = {id(s): s for s in self.senders.values()}
        return sum(sender.purge_older_than(cutoff) for sender in distinct.values())


def email_sender(settings: Settings, outbox: MessageSender, clock: Clock) -> MessageSender:
    """Returns the SMTP sender if `HALLKEY_SMTP_URL` is set, else `outbox`."""
    if not settings.smtp_url:
        return outbox
    context = ssl.create_default_context(
        cafile=str(settings.smtp_ca_file) if settings.smtp_ca_file else None
    )
    return SmtpSender(
        settings.smtp_url,
        default_sender=settings.smtp_from,
        clock=clock,
        timeout=settings.http_timeout_seconds,
        tls_context=context,
    )


def sms_sender(settings: Settings, outbox: MessageSender) -> MessageSender:
    """Returns the configured SMS gateway, or `outbox` when none is."""
    sender = settings.sms_from or settings.sms_number or ""
    if settings.sms_provider == "twilio":
        if not (settings.twilio_account_sid and settings.sms_token):
            return outbox
        return TwilioSender(
            settings.twilio_account_sid,
            settings.sms_token,
            sender=sender,
            base_url=settings.sms_url or TWILIO_API,
            timeout=settings.http_timeout_seconds,
        )
    if not (settings.sms_url and settings.sms_token):
        return outbox
    return JsonGatewaySender(
        settings.sms_url, settings.sms_token, sender=sender, timeout=settings.http_timeout_seconds
    )


def senders_from_settings(settings: Settings, outbox_folder: Path, clock: Clock) -> MessageSender:
    """Returns the sender of a context: emails by SMTP if `HALLKEY_SMTP_URL` is set, texts by
    the configured SMS gateway, anything else to the outbox folder."""
    outbox = OutboxFolderSender(outbox_folder, clock)
    return ChannelSender(
        sms=sms_sender(settings, outbox), email=email_sender(settings, outbox, clock)
    )
