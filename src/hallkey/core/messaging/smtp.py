"""A minimal email sender over SMTP (`smtplib`): `smtp://user:pass@host:587` (STARTTLS when the
server offers it, and required before a login) or `smtps://user:pass@host:465` (TLS).

SMTP has no idempotency key: the delivery id becomes the Message-ID (`<id@hallkey>`), so a
message sent again after a crash between sending and recording it carries the same id, which
mail systems and clients use to drop the copy. The sender keeps no copies (`purge` is a no-op).
"""

from __future__ import annotations

import smtplib
import ssl
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate
from urllib.parse import unquote, urlsplit

from hallkey.core.messaging.base import OutgoingMessage, SendError

SCHEMES = {"smtp": 587, "smtps": 465}


def email_message(message: OutgoingMessage, from_address: str) -> EmailMessage:
    """Returns the MIME message of an email: text, its HTML alternative, its attachments."""
    mail = EmailMessage()
    mail["From"] = from_address
    mail["To"] = message.to
    mail["Subject"] = message.subject or ""
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = f"<{message.delivery_id}@hallkey>"
    mail.set_content(message.body)
    if message.html is not None:
        mail.add_alternative(message.html, subtype="html")
    for attachment in message.attachments:
        kind, *raw_params = (part.strip() for part in attachment.content_type.split(";"))
        maintype, _, subtype = kind.partition("/")
        params = dict(p.split("=", 1) for p in raw_params if "=" in p)
        mail.add_attachment(
            attachment.data,
            maintype=maintype,
            subtype=subtype or "octet-stream",
            filename=attachment.filename,
            params=params,
        )
    return mail


class SmtpSender:
    """Sends emails through one SMTP server; SMS is not its channel."""

    def __init__(self, url: str, from_address: str, *, timeout: float = 10.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in SCHEMES or not parts.hostname:
            raise ValueError("the SMTP URL is smtp://[user:pass@]host[:port] or smtps://…")
        self.tls = parts.scheme == "smtps"
        self.host = parts.hostname
        self.port = parts.port or SCHEMES[parts.scheme]
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.from_address = from_address
        self.timeout = timeout

    def _connect(self) -> smtplib.SMTP:
        context = ssl.create_default_context()
        if self.tls:
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        client.ehlo()
        if client.has_extn("starttls"):
            client.starttls(context=context)
            client.ehlo()
        elif self.username is not None:
            client.close()
            raise SendError("the SMTP server offers no STARTTLS for the login", retryable=False)
        return client

    def send(self, message: OutgoingMessage) -> None:
        """Sends the email, or raises SendError (retryable unless the server refused it)."""
        if message.channel != "email":
            raise SendError("the SMTP sender sends emails only", retryable=False)
        mail = email_message(message, self.from_address)
        try:
            with self._connect() as client:
                if self.username is not None:
                    client.login(self.username, self.password or "")
                client.send_message(mail)
        except smtplib.SMTPRecipientsRefused:
            raise SendError("the SMTP server refused the recipient", retryable=False) from None
        except smtplib.SMTPAuthenticationError:
            raise SendError("the SMTP server refused the login", retryable=True) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise SendError(f"SMTP: {type(exc).__name__}", retryable=True) from None

    def purge_older_than(self, cutoff: datetime) -> int:
        """Keeps no copies: nothing to delete."""
        return 0
