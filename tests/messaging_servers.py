"""Real message servers on loopback for tests: an SMTP server (aiosmtpd, STARTTLS or TLS, with
login), the generic JSON SMS gateway and a server speaking Twilio's Messages API."""

from __future__ import annotations

import base64
import ipaddress
import logging
import secrets
import ssl
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tests.servers import ServerThread, free_port

# aiosmtpd cannot tell that a TLS-from-the-start connection is encrypted, so it warns (per
# connection) that login is allowed without STARTTLS; and it logs every session.
warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
logging.getLogger("mail.log").setLevel(logging.ERROR)

SMTP_USER = "hallkey"
SMTP_PASSWORD = "s3cret-smtp"
GATEWAY_TOKEN = "gw-token-123"
TWILIO_SID = "AC" + "0123456789abcdef" * 2
TWILIO_TOKEN = "twilio-auth-token"
REFUSED_NUMBER = "+4799999999"
"""A number every SMS server refuses for good."""
REFUSED_EMAIL = "refused@example.org"
"""An address the SMTP server refuses for good (550)."""


def self_signed(folder: Path) -> tuple[Path, Path]:
    """Writes a certificate for 127.0.0.1/localhost and its key; returns their paths."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@dataclass
class Received:
    """One message as a server received it."""

    to: str
    text: str
    key: str | None = None
    email: EmailMessage | None = None
    sender: str | None = None


@dataclass
class _Inbox:
    messages: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, message: Received) -> None:
        with self.lock:
            self.messages.append(message)

    def all(self) -> list[Received]:
        with self.lock:
            return list(self.messages)


class _Handler:
    def __init__(self, inbox: _Inbox) -> None:
        self.inbox = inbox

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address == REFUSED_EMAIL:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or envelope.content or b""
        assert isinstance(raw, bytes)
        parsed = message_from_bytes(raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        part = parsed.get_body(("plain",))
        for rcpt in envelope.rcpt_tos:
            self.inbox.add(
                Received(
                    to=rcpt,
                    text=part.get_content() if part is not None else "",
                    key=str(parsed["Message-ID"]),
                    email=parsed,
                    sender=envelope.mail_from,
                )
            )
        return "250 Message accepted"


def _authenticator(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and secrets.compare_digest(auth_data.login, SMTP_USER.encode())
        and secrets.compare_digest(auth_data.password, SMTP_PASSWORD.encode())
    )
    return AuthResult(success=ok, handled=False)


class _ImplicitTlsController(Controller):
    """aiosmtpd's controller, whose start-up probe speaks TLS to a TLS-from-the-start server."""

    def _trigger_server(self) -> None:
        import socket

        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        with (
            socket.create_connection((self.hostname, self.port), 5) as raw,
            context.wrap_socket(raw) as sock,
        ):
            sock.recv(1024)


@dataclass
class SmtpTestServer:
    """A running aiosmtpd server that requires login; `url` is its HALLKEY_SMTP_URL."""

    url: str
    ca_file: Path
    inbox: _Inbox
    port: int

    def client_context(self) -> ssl.SSLContext:
        """Returns a TLS context trusting this server's certificate."""
        return ssl.create_default_context(cafile=str(self.ca_file))

    def received(self) -> list[Received]:
        """Returns what the server accepted, oldest first."""
        return self.inbox.all()


@contextmanager
def smtp_server(folder: Path, *, implicit_tls: bool = False) -> Iterator[SmtpTestServer]:
    """Runs an SMTP server with STARTTLS (or TLS from the start) and login required."""
    cert, key = self_signed(folder)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    inbox = _Inbox()
    port = free_port()
    common: dict[str, Any] = {
        "hostname": "127.0.0.1",
        "port": port,
        "authenticator": _authenticator,
        "auth_required": True,
    }
    controller: Controller
    if implicit_tls:
        controller = _ImplicitTlsController(
            _Handler(inbox), ssl_context=server_context, auth_require_tls=False, **common
        )
        url = f"smtps://{SMTP_USER}:{SMTP_PASSWORD}@127.0.0.1:{port}"
    else:
        controller = Controller(
            _Handler(inbox), tls_context=server_context, require_starttls=True, **common
        )
        url = f"smtp://{SMTP_USER}:{SMTP_PASSWORD}@127.0.0.1:{port}"
    controller.start()
    try:
        yield SmtpTestServer(url=url, ca_file=cert, inbox=inbox, port=port)
    finally:
        controller.stop()


def _error(http_status: int, **body: Any) -> JSONResponse:
    return JSONResponse(body, status_code=http_status)


def gateway_app(inbox: _Inbox, state: dict[str, Any]) -> FastAPI:
    """Returns the generic JSON gateway: `POST /sms` `{to, from, text}` with a bearer token;
    a repeated `Idempotency-Key` is answered without sending again."""
    app = FastAPI()
    seen: set[str] = set()

    @app.post("/sms")
    async def send(request: Request) -> JSONResponse:
        if state.get("down"):
            return _error(503, error="maintenance")
        auth = request.headers.get("authorization", "")
        if not secrets.compare_digest(auth.encode(), f"Bearer {GATEWAY_TOKEN}".encode()):
            return _error(401, error="unauthorized")
        body = await request.json()
        if not all(isinstance(body.get(k), str) and body[k] for k in ("to", "from", "text")):
            return _error(422, error="to, from and text are required")
        if body["to"] == REFUSED_NUMBER:
            return _error(400, error="number not reachable")
        key = request.headers.get("idempotency-key")
        if key is not None and key in seen:
            return JSONResponse({"id": key, "duplicate": True})
        if key is not None:
            seen.add(key)
        inbox.add(Received(to=body["to"], text=body["text"], key=key, sender=body["from"]))
        return JSONResponse({"id": key or "x"}, status_code=202)

    return app


def twilio_app(inbox: _Inbox, state: dict[str, Any]) -> FastAPI:
    """Returns a server speaking Twilio's Messages API: a form POST with Basic auth of the
    account SID and auth token, 201 with the message's `sid`, Twilio's error JSON otherwise."""
    app = FastAPI()

    @app.post("/2010-04-01/Accounts/{sid}/Messages.json")
    async def create(sid: str, request: Request) -> JSONResponse:
        if state.get("down"):
            return _error(503, code=20500, message="Internal Server Error", status=503)
        expected = base64.b64encode(f"{TWILIO_SID}:{TWILIO_TOKEN}".encode()).decode()
        auth = request.headers.get("authorization", "")
        if sid != TWILIO_SID or not secrets.compare_digest(
            auth.encode(), f"Basic {expected}".encode()
        ):
            return _error(401, code=20003, message="Authentication Error", status=401)
        if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
            return _error(400, code=20001, message="Bad content type", status=400)
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        if "To" not in form:
            return _error(400, code=21604, message="A 'To' phone number is required.", status=400)
        if "Body" not in form or "From" not in form:
            return _error(400, code=21602, message="Message body is required.", status=400)
        if form["To"] == REFUSED_NUMBER:
            return _error(
                400,
                code=21211,
                message=f"The 'To' number {form['To']} is not a valid phone number.",
                more_info="https://www.twilio.com/docs/errors/21211",
                status=400,
            )
        message_sid = "SM" + secrets.token_hex(16)
        inbox.add(Received(to=form["To"], text=form["Body"], key=None, sender=form["From"]))
        return JSONResponse(
            {"sid": message_sid, "status": "queued", "to": form["To"], "body": form["Body"]},
            status_code=201,
        )

    return app


@dataclass
class HttpSmsServer:
    """A running SMS server (generic gateway or Twilio); `state["down"]` makes it answer 503."""

    base_url: str
    inbox: _Inbox
    state: dict[str, Any]

    def received(self) -> list[Received]:
        """Returns what the server accepted, oldest first."""
        return self.inbox.all()


@contextmanager
def sms_server(kind: str) -> Iterator[HttpSmsServer]:
    """Runs the generic gateway (`generic`) or the Twilio API (`twilio`) on loopback."""
    inbox = _Inbox()
    state: dict[str, Any] = {}
    app = gateway_app(inbox, state) if kind == "generic" else twilio_app(inbox, state)
    thread = ServerThread(app).start()
    try:
        yield HttpSmsServer(base_url=thread.base_url, inbox=inbox, state=state)
    finally:
        thread.stop()
