"""Email through any SMTP server: `smtp://` with STARTTLS, `smtps://` with TLS from the start.

SMTP has no idempotency key. Each message's `Message-ID` is made from its delivery id, so a
retry of a message already accepted (a crash between the server's "250" and the delivery
being recorded sent) carries the same Message-ID, which many mailboxes use to drop the copy.
A slow send keeps its job: the worker renews the job's lease while it runs, and every step
of the conversation times out well within one lease.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from urllib.parse import parse_qs, unquote, urlsplit

from hallkey.core.clock import Clock
from hallkey.core.errors import InvalidInput
from hallkey.core.messaging.base import OutgoingMessage, SendError

_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class SmtpServer:
    """Where and how to reach the SMTP server (from `HALLKEY_SMTP_URL`)."""

    host: str
    port: int
    implicit_tls: bool
    starttls: bool
    username: str | None
    password: str | None


def parse_smtp_url(url: str) -> SmtpServer:
    """Returns the server of `smtp://user:pass@host:587` (STARTTLS) or `smtps://…:465` (TLS).

    `?starttls=false` sends in the clear: only for a relay on the same machine.
    Raises ValueError naming what is wrong (never the password).
    """
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError("HALLKEY_SMTP_URL must start with smtp:// or smtps://")
    if not parts.hostname:
        raise ValueError("HALLKEY_SMTP_URL names no host")
    implicit = parts.scheme == "smtps"
    query = parse_qs(parts.query)
    starttls = not implicit and query.get("starttls", ["true"])[0].lower() not in _FALSE
    try:
        port = parts.port or (465 if implicit else 587)
    except ValueError as exc:
        raise ValueError("HALLKEY_SMTP_URL has an invalid port") from exc
    return SmtpServer(
        host=parts.hostname,
        port=port,
        implicit_tls=implicit,
        starttls=starttls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def message_id(delivery_id: str, sender: str) -> str:
    """Returns the Message-ID of a delivery: the same on every try of it."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "hallkey.invalid"
    return f"<{delivery_id}@{domain}>"


def checked_sender(value: str, *, field: str) -> str | None:
    """Returns a tenant's sender address (`Name <user@domain>`) as its emails will carry it
    (None for ""); raises InvalidInput naming `field` unless it is one address with a domain,
    on one line."""
    value = value.strip()
    if not value:
        return None
    probe = EmailMessage()
    try:
        if "\r" in value or "\n" in value:
            raise ValueError("more than one line")
        probe["From"] = value
        addresses = probe["From"].addresses
    except (ValueError, IndexError, TypeError):
        addresses = ()
    if len(addresses) != 1 or not addresses[0].username or "." not in addresses[0].domain:
        raise InvalidInput(f"{field} must be one address: Name <user@domain>", field=field)
    return value


class SmtpSender:
    """Sends emails through an SMTP server, with a plain-text and (if given) an HTML part.

    Every email carries `Date` (on the context's clock), a `Message-ID` derived from the
    delivery id, the tenant's `From` (or `default_sender`) and `Auto-Submitted:
    auto-generated` (so that autoresponders do not answer it).
    """

    def __init__(
        self,
        url: str,
        *,
        default_sender: str,
        clock: Clock,
        timeout: float = 10.0,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.server = parse_smtp_url(url)
        self.default_sender = default_sender
        self.clock = clock
        self.timeout = timeout
        self.tls_context = tls_context or ssl.create_default_context()

    def build(self, message: OutgoingMessage) -> EmailMessage:
        """Returns the email as it goes on the wire."""
        sender = message.sender or self.default_sender
        email = EmailMessage()
        email["From"] = sender
        email["To"] = Address(addr_spec=message.to)
        email["Subject"] = message.subject or ""
        email["Date"] = format_datetime(self.clock.now())
        email["Message-ID"] = message_id(message.delivery_id, sender)
        email["Auto-Submitted"] = "auto-generated"
        email.set_content(message.body)
        if message.html is not None:
            email.add_alternative(message.html, subtype="html")
        for attachment in message.attachments:
            maintype, _, subtype = attachment.content_type.partition("/")
            email.add_attachment(
                attachment.data,
                maintype=maintype,
                subtype=subtype or "octet-stream",
                filename=attachment.filename,
            )
        return email

    def send(self, message: OutgoingMessage) -> None:
        """Hands the email to the server, or raises SendError (4xx, network: retryable)."""
        if message.channel != "email":
            raise SendError("the SMTP sender sends emails only", retryable=False, reason="channel")
        try:
            email = self.build(message)
        except (ValueError, IndexError) as exc:
            raise SendError("email not buildable", retryable=False, reason="bad_address") from exc
        try:
            with self._connect() as smtp:
                if self.server.username and self.server.password:
                    smtp.login(self.server.username, self.server.password)
                smtp.send_message(email)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            code = codes[0] if codes else 550
            raise SendError(
                "recipient refused", retryable=code < 500, reason=f"smtp_{code}"
            ) from None
        except smtplib.SMTPAuthenticationError as exc:
            # The operator's settings, not the message: it goes once they are mended.
            raise SendError(
                "SMTP login refused", retryable=True, reason=f"smtp_auth_{exc.smtp_code}"
            ) from None
        except smtplib.SMTPResponseException as exc:
            raise SendError(
                "SMTP server refused the email",
                retryable=exc.smtp_code < 500,
                reason=f"smtp_{exc.smtp_code}",
            ) from None
        except TimeoutError:
            raise SendError("SMTP server timed out", retryable=True, reason="timeout") from None
        except ssl.SSLError:
            raise SendError("SMTP TLS failed", retryable=True, reason="smtp_tls") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise SendError(
                f"SMTP server unreachable: {type(exc).__name__}",
                retryable=True,
                reason="smtp_unreachable",
            ) from None

    def _connect(self) -> smtplib.SMTP:
        server = self.server
        if server.implicit_tls:
            return smtplib.SMTP_SSL(
                server.host, server.port, timeout=self.timeout, context=self.tls_context
            )
        smtp = smtplib.SMTP(server.host, server.port, timeout=self.timeout)
        try:
            if server.starttls:
                smtp.starttls(context=self.tls_context)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def purge_older_than(self, cutoff: datetime) -> int:
        """Keeps no copies: nothing to delete."""
        return 0
