"""Settings, all read from `HALLKEY_*` environment variables (documented in the README)."""

from __future__ import annotations

import contextlib
import os
import secrets
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from hallkey.core.db import DEFAULT_CONNECTIONS

ContextName = Literal["booking", "hub", "locks"]
CONTEXT_NAMES: tuple[ContextName, ...] = ("booking", "hub", "locks")

DEFAULT_SHUTDOWN_GRACE_SECONDS = 30
"""How long requests in flight may finish after SIGTERM, unless `HALLKEY_SHUTDOWN_GRACE_SECONDS`
says otherwise."""


class Settings(BaseSettings):
    """Process-wide settings; every field maps to `HALLKEY_<FIELD>`."""

    model_config = SettingsConfigDict(env_prefix="HALLKEY_", extra="ignore", frozen=True)

    data_dir: Path = Field(default=Path("var"))
    """Folder for SQLite files, the local message outbox and the generated secret key."""

    booking_database_url: str | None = None
    """SQLAlchemy URL of the booking database; default `sqlite:///DATA_DIR/booking.db`."""

    hub_database_url: str | None = None
    """SQLAlchemy URL of the hub database; default `sqlite:///DATA_DIR/hub.db`."""

    locks_database_url: str | None = None
    """SQLAlchemy URL of the locks database; default `sqlite:///DATA_DIR/locks.db`."""

    secret_key: str | None = None
    """Master secret for encryption at rest; default: generated once into DATA_DIR/secret.key."""

    base_url: str = "http://127.0.0.1:8000"
    """Public base URL of this process (used in links and in the demo's wiring)."""

    run_workers: bool = True
    """Whether `hallkey serve` runs the background workers inside the web process."""

    http_keep_alive_seconds: int = Field(default=75, ge=1)
    """How long `hallkey serve` keeps an idle client connection open. Longer than the idle
    expiry of the clients and proxies in front (httpx 5 s, load balancers 60 s): a server that
    closes first races the client's next request on that connection (an `httpx.ReadError`)."""

    shutdown_grace_seconds: int = Field(default=DEFAULT_SHUTDOWN_GRACE_SECONDS, ge=1)
    """After SIGTERM, how long `hallkey serve` lets the requests in flight finish before it
    closes their connections; with `--workers N`, a server process still running a minute
    after that (its workers stop after their current jobs) is killed, and the log says so."""

    worker_poll_seconds: float = Field(default=0.5, gt=0)
    """How often an idle worker looks for due jobs (new jobs in-process wake it at once)."""

    database_connections: int = Field(default=DEFAULT_CONNECTIONS, ge=2, le=1000)
    """The most connections a process holds to each context's PostgreSQL database (10 kept
    open, the rest opened under load and closed after). N processes with three contexts on one
    server need N * 3 * this within its `max_connections` (100 by default)."""

    worker_threads: int = Field(default=4, ge=1, le=64)
    """How many jobs each context's worker runs at once (its threads mostly wait on peers)."""

    worker_claim_ahead: int = Field(default=4, ge=0, le=256)
    """How many due jobs a context's worker claims beyond its idle runners, to hand to the
    next runner that finishes without a claim of its own (under a backlog a claim, a write
    transaction, then serves this many and one more jobs). Their leases are kept meanwhile."""

    job_lease_seconds: float = Field(default=15.0, gt=0)
    """How long a claim on a job lasts unless renewed; a running job renews it every third of
    it, so a dead worker's jobs are taken over by another worker within this time."""

    job_backoff_max_seconds: float = Field(default=300.0, gt=0)
    """Longest wait between two tries of a failing job (a peer's recovery cuts it short)."""

    peer_probe_seconds: float = Field(default=2.0, gt=0)
    """While jobs wait on an unreachable peer, how often one of them is tried anyway, so that
    the peer's recovery is noticed (and all its waiting work run) within about this time."""

    http_timeout_seconds: float = Field(default=10.0, gt=0)
    """Timeout of every call to another context or device."""

    default_timezone: str = "Europe/Oslo"
    """Time zone used to show times to people when a venue or site names none."""

    booking_email_from: str = Field(default="booking@hallkey.invalid", min_length=3)
    """The address the booking system's customer emails come from (and their calendar
    entries' organizer)."""

    booking_outbox_retention_days: int = Field(default=7, ge=0)
    """Days the booking system's sender keeps its copies of sent customer emails (the outbox
    folder's files hold addresses); each email sent deletes the copies past this."""

    hub_retention_days: int = Field(default=7, ge=0)
    """Days after a grant ends before the hub deletes its recipient's phone and email."""

    hub_reconcile_seconds: float = Field(default=300.0, ge=1)
    """How often the hub compares what every door holds with what it should hold."""

    hub_max_window_days: int = Field(default=31, ge=1, le=3660)
    """Longest single window of a grant, in days; a longer one is refused (422)."""

    hub_max_grant_days: int = Field(default=400, ge=1, le=3660)
    """Longest span of a grant, in days: from its first start (or now, if that is earlier)
    to its last end; a longer one is refused (422)."""

    hub_webhook_allow_private: bool = False
    """Lets every client's webhook point at a private, loopback or link-local address (a hub
    and its booking systems on one inside network); an operator can allow it per client too."""

    hub_webhook_retry_seconds: tuple[float, ...] = (5, 30, 120, 600, 3600, 21600)
    """Waits between the tries of a webhook message (a JSON list in the environment: `[5, 30]`);
    after the last one fails the message is dead-lettered for an operator to replay."""

    hub_webhook_settle_seconds: float = Field(default=1.0, ge=0, le=60)
    """How long a grant's state message waits before it is sent: a state that changes again
    meanwhile (its doors programmed a moment after the grant was made) goes out as one
    message with the latest state, not one per change. 0 sends at once."""

    sms_number: str | None = None
    """The SMS gateway's number that guests with SMS access text (shown in their message)."""

    sms_inbound_secret: str | None = None
    """The secret with which the SMS gateway signs `POST /hub/v1/sms/inbound` (HMAC-SHA256 of
    the raw body); without it every inbound SMS is refused (401)."""

    smtp_url: str | None = None
    """The SMTP server for emails: `smtp://user:pass@host:587` (STARTTLS) or
    `smtps://user:pass@host:465` (TLS); without it every email goes to the local outbox."""

    smtp_from: str = "hallkey <no-reply@localhost>"
    """The From of emails whose tenant gives no sender address of its own."""

    smtp_ca_file: Path | None = None
    """A PEM file of the certificate authorities the SMTP server's certificate is checked
    against, instead of the system's (a private mail server)."""

    sms_provider: Literal["generic", "twilio"] = "generic"
    """Which SMS API `HALLKEY_SMS_URL` speaks: the generic JSON gateway or Twilio's own."""

    sms_url: str | None = None
    """The SMS gateway (generic: the URL texts are POSTed to; twilio: optional, its API's base
    URL); without it, and for Twilio without an account, every SMS goes to the local outbox."""

    sms_token: str | None = None
    """The SMS gateway's secret: the generic gateway's bearer token, or Twilio's auth token."""

    sms_from: str | None = None
    """The sender number or name of texts; default `HALLKEY_SMS_NUMBER`."""

    twilio_account_sid: str | None = None
    """The Twilio account SID (`AC…`) when `HALLKEY_SMS_PROVIDER=twilio`."""

    operator_email: str | None = None
    """Where operator alerts go (a door gone offline, a programming failed for good)."""

    reminder_minutes: int = Field(default=120, ge=0, le=60 * 24 * 14)
    """How long before each window's start a reminder is sent; 0 sends none."""

    locks_heartbeat_seconds: float = Field(default=30.0, ge=1)
    """How often a door controller tells the hub it is reachable (also once at each start)."""

    locks_keypad_unlock_seconds: int = Field(default=5, ge=1, le=300)
    """How long a door stays unlocked after a granted keypad code."""

    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    """Largest request body any API takes (413 beyond), counted also without Content-Length."""

    wrong_keys_per_minute: int = Field(default=20, ge=1)
    """Wrong API keys one source address may present per minute before further ones get 429."""

    cookie_secure: bool = False
    """Whether sign-in cookies are marked `Secure` even when a request came over plain HTTP
    (set it behind a proxy that ends TLS; a request seen as https always gets `Secure`)."""

    staff_session_hours: float = Field(default=12.0, gt=0, le=24 * 30)
    """How long a staff sign-in session lasts at most, however busy."""

    staff_session_idle_minutes: float = Field(default=60.0, gt=0)
    """How long a staff sign-in session lasts unused."""

    sign_in_failures_per_username: int = Field(default=5, ge=1)
    """Wrong passwords one username may get per 15 minutes before sign-in answers 429."""

    sign_in_failures_per_address: int = Field(default=30, ge=1)
    """Failed sign-ins one source address may make per 15 minutes before it gets 429."""

    booking_operator_key: str | None = None
    """The booking operator key `hallkey apply` presents (made by `hallkey operator-key`)."""

    hub_operator_key: str | None = None
    """The hub operator key `hallkey apply` presents."""

    locks_operator_key: str | None = None
    """The door controller operator key `hallkey apply` presents."""

    log_level: str = "INFO"
    """Python logging level."""

    def database_url(self, context: ContextName) -> str:
        """Returns the database URL of a context, defaulting to a SQLite file in DATA_DIR."""
        configured = {
            "booking": self.booking_database_url,
            "hub": self.hub_database_url,
            "locks": self.locks_database_url,
        }[context]
        if configured:
            return configured
        return f"sqlite:///{(self.data_dir / f'{context}.db').resolve()}"

    @property
    def outbox_dir(self) -> Path:
        """Folder where the local delivery provider writes one file per message."""
        return self.data_dir / "outbox"

    @cached_property
    def master_secret(self) -> bytes:
        """Returns the master secret, creating DATA_DIR/secret.key on first use."""
        if self.secret_key:
            return self.secret_key.encode()
        path = self.data_dir / "secret.key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{secrets.token_hex(4)}.tmp")
            # Created 0600 in the same call: never readable by others, not even for a moment.
            descriptor = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as file:
                file.write(secrets.token_urlsafe(48))
            # link() refuses to replace: when processes race, the first key wins for all.
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
            tmp.unlink()
        return path.read_text().strip().encode()


class BadSettings(ValueError):
    """Settings that do not validate, each named as the operator sets it (the environment
    variable) with what is wrong, never with the value given (it may be a secret)."""


def load_settings(**overrides: Any) -> Settings:
    """Returns the settings from the environment and the `overrides` given (None: an option
    left unset, which overrides nothing); raises BadSettings."""
    given = {name: value for name, value in overrides.items() if value is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        problems = [
            f"HALLKEY_{'_'.join(str(part) for part in error['loc']).upper()}: {error['msg']}"
            for error in exc.errors()
        ]
        raise BadSettings("; ".join(problems)) from None
