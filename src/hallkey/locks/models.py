"""The door controller's tables (all prefixed `locks_`).

Hot paths and their indexes:
- keypad: `locks_credentials (door_id, code_digest)`, then the windows by `credential_id`;
- lock-out count: `locks_events (door_id, at)`;
- event outbox: `locks_events (pushed_at)`; event listing by ref: `locks_events (ref)`;
- authentication: `locks_controllers.api_key_id` (unique);
- a controller's doors: `locks_doors (controller_id)`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    literal_column,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from hallkey.core.db import UTCDateTime, make_metadata
from hallkey.core.jobs import job_table
from hallkey.core.operators import operator_key_table


class Base(DeclarativeBase):
    metadata = make_metadata()


class Controller(Base):
    """One door controller: its API key, PIN secret and link to the hub."""

    __tablename__ = "locks_controllers"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    api_key_id: Mapped[str] = mapped_column(String(32), unique=True)
    api_secret_hash: Mapped[str] = mapped_column(String(64))
    # The key of the HMAC over PIN codes, sealed with the context's SecretBox.
    pin_secret_sealed: Mapped[str] = mapped_column(Text)
    hub_events_url: Mapped[str | None] = mapped_column(String(500))
    hub_events_token_sealed: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Door(Base):
    """A door wired to a controller; its lock state and keypad lock-out."""

    __tablename__ = "locks_doors"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    controller_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("locks_controllers.id"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    unlocked_until_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    locked_out_until_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The ref whose unlock schedule the controller last put in force here (its `unlocked`
    # event recorded, its `locked` event not yet): how the schedule job sees a change.
    schedule_ref: Mapped[str | None] = mapped_column(String(64))
    # The hub's id of this door, told with every credential the hub programs here: a mobile
    # key's `doors` claim names hub doors, which may differ from the controller's own ids.
    hub_door_id: Mapped[str | None] = mapped_column(String(64))
    max_credentials: Mapped[int] = mapped_column(Integer, default=1000)
    # At least how many credentials hold a place on the door (not revoked, a window not yet
    # ended): kept by every program and revoke, never below the true count (ended windows
    # leave it high until the exact count is taken), so a door far from full is told so
    # without counting its codes (`places`).
    places_bound: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Credential(Base):
    """What one ref holds on one door: a PIN (only its keyed digest is kept, never the code),
    a mobile key (nothing but its windows: the token carries its own proof) or an unlock
    schedule (`type` `unlock`, no code: the door stands open in the windows)."""

    __tablename__ = "locks_credentials"
    __table_args__ = (
        UniqueConstraint("door_id", "ref", name="uq_locks_credentials_door_id_ref"),
        Index("ix_locks_credentials_door_id_code_digest", "door_id", "code_digest"),
        # The reconciler's pages by ref in code-point order (migration 0009); on SQLite the
        # constraint above already keeps that order.
        Index(
            "ix_locks_credentials_door_id_ref_c", "door_id", literal_column('ref COLLATE "C"')
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    door_id: Mapped[str] = mapped_column(String(64), ForeignKey("locks_doors.id"))
    ref: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(16))
    # Null for a ref that was revoked before it was ever programmed.
    code_digest: Mapped[str | None] = mapped_column(String(64))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    # The sender's version of this credential (the hub's grant-door version): a write carrying
    # an older one arrived late and is ignored, so a slow PUT cannot undo a newer DELETE; at an
    # equal version a revocation wins (see domain.is_stale_write).
    version: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CredentialWindow(Base):
    """One half-open window `[valid_from_at, valid_to_at)` of a credential."""

    __tablename__ = "locks_credential_windows"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    credential_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("locks_credentials.id", ondelete="CASCADE"), index=True
    )
    valid_from_at: Mapped[datetime] = mapped_column(UTCDateTime())
    valid_to_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PublicKey(Base):
    """A public key of the hub (Ed25519, by key id) that mobile keys are verified with."""

    __tablename__ = "locks_public_keys"

    controller_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("locks_controllers.id"), primary_key=True
    )
    kid: Mapped[str] = mapped_column(String(40), primary_key=True)
    # The raw public key, base64url (the JWK's `x`).
    x: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Event(Base):
    """Something that happened at a door; `pushed_at` is set once the hub acknowledged it.

    An event the hub refused is marked pushed too (so it never blocks the others) and keeps
    the hub's error code in `quarantine_code`.
    """

    __tablename__ = "locks_events"
    __table_args__ = (
        Index("ix_locks_events_door_id_at", "door_id", "at"),
        Index("ix_locks_events_pushed_at", "pushed_at"),
        Index("ix_locks_events_ref", "ref"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    door_id: Mapped[str] = mapped_column(String(64), ForeignKey("locks_doors.id"))
    ref: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    pushed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    quarantine_code: Mapped[str | None] = mapped_column(String(64))


jobs_table = job_table(Base.metadata, "locks_jobs")
operator_keys_table = operator_key_table(Base.metadata, "locks_operator_keys")
