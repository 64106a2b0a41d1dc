"""The hub's tables (all prefixed `hub_`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    literal_column,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from hallkey.core.db import UTCDateTime, make_metadata
from hallkey.core.jobs import job_table
from hallkey.core.operators import operator_key_table
from hallkey.core.sessions import session_table


class Base(DeclarativeBase):
    metadata = make_metadata()


class Client(Base):
    """A booking system connected to the hub."""

    __tablename__ = "hub_clients"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    events_url: Mapped[str | None] = mapped_column(String(500))
    events_token_sealed: Mapped[str | None] = mapped_column(Text)
    # The client's webhook: door events and grant states are posted there, signed with the
    # secret (sealed); while it is set, the forwarding job leaves this client alone.
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    webhook_secret_sealed: Mapped[str | None] = mapped_column(Text)
    # Set only by an operator: the URL may point at a private or loopback address.
    webhook_allow_private: Mapped[bool] = mapped_column(Boolean, server_default=false())
    # The From of the emails the hub sends to this client's guests (`Name <address>`); None:
    # the hub's `HALLKEY_SMTP_FROM`.
    email_from: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ClientKey(Base):
    """One of a client's API keys: a client may hold several, so that a key is rotated by
    adding the new one, moving the booking system over, then revoking the old one."""

    __tablename__ = "hub_client_keys"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("hub_clients.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # Hot path: every API request looks its key up by key_id.
    key_id: Mapped[str] = mapped_column(String(32), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class HubAdmin(Base):
    """A hub operator who signs in to the admin pages (`/hub/admin`): the hub's own people,
    never a client's or the booking system's."""

    __tablename__ = "hub_admins"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Site(Base):
    """A place whose doors share one lock system, reached through one connector."""

    __tablename__ = "hub_sites"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("hub_clients.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    connector: Mapped[str] = mapped_column(String(32))
    config_sealed: Mapped[str] = mapped_column(Text)
    timezone: Mapped[str] = mapped_column(String(64))
    pin_length: Mapped[int] = mapped_column(Integer)
    # Hot path: every controller-events push looks its site up by key_id.
    events_key_id: Mapped[str] = mapped_column(String(32), unique=True)
    events_secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Door(Base):
    """One entrance; `remote_id` is its id in the lock system behind the site's connector."""

    __tablename__ = "hub_doors"
    # Hot path: controller events name the door by remote_id within the site.
    __table_args__ = (UniqueConstraint("site_id", "remote_id"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("hub_sites.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    remote_id: Mapped[str] = mapped_column(String(64))
    online: Mapped[bool] = mapped_column(Boolean)
    battery: Mapped[int | None] = mapped_column(Integer)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Grant(Base):
    """A ref's right to pass some doors in some windows, with its credential."""

    __tablename__ = "hub_grants"
    __table_args__ = (
        # Idempotency of GrantAccess and every lookup by ref.
        UniqueConstraint("client_id", "ref"),
        # Retention purge: grants that ended (or were revoked) long enough ago.
        Index("ix_hub_grants_valid_to_at", "valid_to_at"),
        Index("ix_hub_grants_revoked_at", "revoked_at"),
        # The URL-key page finds its grant by the digest of the token in the link.
        Index("ix_hub_grants_key_digest", "key_digest", unique=True),
        # An inbound SMS finds its grants by the keyed hash of the sender's number.
        Index("ix_hub_grants_phone_digest", "phone_digest"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("hub_clients.id"))
    ref: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    operation: Mapped[str] = mapped_column(String(16))
    credential: Mapped[str] = mapped_column(String(16))
    code_sealed: Mapped[str | None] = mapped_column(Text)
    # Collision check: other grants' codes are compared by their keyed digest.
    code_digest: Mapped[str | None] = mapped_column(String(64), index=True)
    valid_from_at: Mapped[datetime] = mapped_column(UTCDateTime())
    valid_to_at: Mapped[datetime] = mapped_column(UTCDateTime())
    locale: Mapped[str] = mapped_column(String(8))
    deliver_via: Mapped[list[str]] = mapped_column(JSON)
    recipient_phone_sealed: Mapped[str | None] = mapped_column(Text)
    recipient_email_sealed: Mapped[str | None] = mapped_column(Text)
    recipient_purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    fingerprint: Mapped[str] = mapped_column(String(64))
    # The highest `revision` a client has sent for this ref: a request with a lower one is
    # stale (a retry overtaken by a newer change) and changes nothing.
    # 64 bits: the API takes revisions up to 2**53 - 1.
    revision: Mapped[int] = mapped_column(BigInteger, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # URL key: the SHA-256 of the link's token (never the token) and the random nonce from
    # which the token is derived again with the hub's key, to show or resend the link.
    key_digest: Mapped[str | None] = mapped_column(String(64))
    key_nonce: Mapped[str | None] = mapped_column(String(32))
    # Mobile key: the signed token, sealed (it opens doors, like a code).
    key_sealed: Mapped[str | None] = mapped_column(Text)
    # SMS access: HMAC(hub key, E.164 phone), purged with the phone; the phone stays sealed.
    phone_digest: Mapped[str | None] = mapped_column(String(64))


class SigningKey(Base):
    """An Ed25519 key that signs mobile keys; published until its last token has expired."""

    __tablename__ = "hub_signing_keys"

    kid: Mapped[str] = mapped_column(String(40), primary_key=True)
    private_sealed: Mapped[str] = mapped_column(Text)
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Set when a newer key takes over signing.
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The latest `exp` of a token it signed: it stays in the JWKS until then.
    published_until_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class GrantWindow(Base):
    """One half-open window of a grant."""

    __tablename__ = "hub_grant_windows"
    # Overlap queries: a grant's windows, filtered by their end.
    __table_args__ = (Index("ix_hub_grant_windows_grant_id", "grant_id", "valid_to_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    grant_id: Mapped[str] = mapped_column(ForeignKey("hub_grants.id", ondelete="CASCADE"))
    valid_from_at: Mapped[datetime] = mapped_column(UTCDateTime())
    valid_to_at: Mapped[datetime] = mapped_column(UTCDateTime())


class GrantDoor(Base):
    """What one door of a grant should hold (`action` at `desired_version`) and holds."""

    __tablename__ = "hub_grant_doors"
    __table_args__ = (
        # Collision check: the grants active at a door.
        Index("ix_hub_grant_doors_door_id", "door_id", "action"),
        # The reconciler's pages of a door's rows by ref in code-point order (migration 0013):
        # SQLite compares by code point as it is; PostgreSQL needs the "C" collation.
        Index("ix_hub_grant_doors_door_id_ref", "door_id", "ref", "grant_id").ddl_if(
            dialect="sqlite"
        ),
        Index(
            "ix_hub_grant_doors_door_id_ref_c",
            "door_id",
            literal_column('ref COLLATE "C"'),
            "grant_id",
        ).ddl_if(dialect="postgresql"),
    )

    grant_id: Mapped[str] = mapped_column(
        ForeignKey("hub_grants.id", ondelete="CASCADE"), primary_key=True
    )
    door_id: Mapped[str] = mapped_column(ForeignKey("hub_doors.id"), primary_key=True)
    # The grant's ref (a grant's ref never changes), kept here so that a door's rows can be
    # read in ref order along an index.
    ref: Mapped[str] = mapped_column(String(64), server_default="")
    action: Mapped[str] = mapped_column(String(16))  # "program" | "revoke"
    state: Mapped[str] = mapped_column(String(16))
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    desired_version: Mapped[int] = mapped_column(Integer)
    programmed_version: Mapped[int] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Delivery(Base):
    """One SMS or email about a grant; rendered only when sent."""

    __tablename__ = "hub_deliveries"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    # A grant's deliveries are listed with the grant; an answer to an inbound SMS has none.
    grant_id: Mapped[str | None] = mapped_column(
        ForeignKey("hub_grants.id", ondelete="CASCADE"), index=True
    )
    # An answer to an inbound SMS: its number (sealed, purged after retention) and language.
    to_sealed: Mapped[str | None] = mapped_column(Text)
    locale: Mapped[str | None] = mapped_column(String(8))
    channel: Mapped[str] = mapped_column(String(8))
    template: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A reminder: the start of the window it is about (checked against the grant when sent).
    window_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # An operator alert: what it is about (door id, ref, error code; never personal data).
    facts: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class DoorEvent(Base):
    """A door event reported by a site's lock system, to be forwarded to the client."""

    __tablename__ = "hub_door_events"
    __table_args__ = (
        # Idempotent ingestion: one row per event id of a site.
        UniqueConstraint("site_id", "external_id"),
        # Forwarding: a client's events not yet forwarded.
        Index("ix_hub_door_events_client_forwarded", "client_id", "forwarded_at"),
        # GET /events by ref, and by time.
        Index("ix_hub_door_events_client_ref", "client_id", "ref"),
        Index("ix_hub_door_events_client_at", "client_id", "at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("hub_sites.id"))
    client_id: Mapped[str] = mapped_column(ForeignKey("hub_clients.id"))
    external_id: Mapped[str] = mapped_column(String(64))
    door_id: Mapped[str] = mapped_column(ForeignKey("hub_doors.id"))
    ref: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    forwarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set (with `forwarded_at`) when the client refused this one event for good: it is kept
    # out of later batches instead of blocking them.
    forward_error: Mapped[str | None] = mapped_column(String(64))


class WebhookMessage(Base):
    """One message to a client's webhook (`door.event`, `grant.state`), kept until delivered;
    one that exhausted its retries stays `dead` until an operator replays it."""

    __tablename__ = "hub_webhook_messages"
    # The operator's dead-letter list.
    __table_args__ = (
        Index("ix_hub_webhook_messages_state", "state", "created_at"),
        # A newer state of the same grant replaces a message not yet delivered.
        Index("ix_hub_webhook_messages_topic", "topic", "state"),
    )

    # The `webhook-id` header: the same on every try, so the receiver can drop repeats.
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("hub_clients.id"), index=True)
    type: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16))  # "pending" | "delivered" | "dead"
    attempts: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Where its retry schedule starts: its making, or the operator's latest replay.
    retry_from_at: Mapped[datetime] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # What the message is the latest word on (`grant:<id>` for a grant's state), or None for a
    # message that is never replaced (a door event); `version` counts its replacements.
    topic: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class AuditEntry(Base):
    """What happened to a ref at a door; never personal data."""

    __tablename__ = "hub_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # Audit is read by ref.
    ref: Mapped[str] = mapped_column(String(64), index=True)
    client_id: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(32))
    door_id: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


jobs_table = job_table(Base.metadata, "hub_jobs")
operator_keys_table = operator_key_table(Base.metadata, "hub_operator_keys")
admin_sessions_table = session_table(Base.metadata, "hub_admin_sessions", "hub_admins")
