"""Sign-in sessions for people using the pages: one table per context, tokens stored hashed.

A session token is 256 random bits, so its SHA-256 is enough to store (it cannot be guessed
back); the cookie holds the token only. A session ends when signed out, after
`IDLE` without use, or `LONGEST` after it began, whichever comes first.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Column, ForeignKey, MetaData, String, Table, delete, select, update
from sqlalchemy.orm import Session

from hallkey.core.db import UTCDateTime
from hallkey.core.security import hash_secret

IDLE = timedelta(hours=8)
LONGEST = timedelta(days=7)
TOUCH_EVERY = timedelta(minutes=5)
"""A session's last use is written at most this often (a page view is not a write)."""


def session_table(metadata: MetaData, name: str, user_table: str) -> Table:
    """Returns a context's sign-in sessions table (e.g. `hub_admin_sessions`)."""
    return Table(
        name,
        metadata,
        Column("token_hash", String(64), primary_key=True),
        Column("user_id", String(40), ForeignKey(f"{user_table}.id"), nullable=False, index=True),
        Column("created_at", UTCDateTime(), nullable=False),
        Column("last_used_at", UTCDateTime(), nullable=False),
    )


@dataclass(frozen=True)
class SignedIn:
    """Whose session a cookie holds."""

    user_id: str
    token_hash: str


def start_session(session: Session, table: Table, user_id: str, now: datetime) -> str:
    """Stores a new session of `user_id`; returns its token (for the cookie, shown only now)."""
    token = secrets.token_urlsafe(32)
    session.execute(
        table.insert().values(
            token_hash=hash_secret(token), user_id=user_id, created_at=now, last_used_at=now
        )
    )
    return token


def find_session(session: Session, table: Table, token: str, now: datetime) -> SignedIn | None:
    """Returns the live session of `token`, or None (unknown, idle too long, or too old)."""
    if not 20 <= len(token) <= 100:
        return None
    digest = hash_secret(token)
    row = session.execute(
        select(table.c.user_id, table.c.created_at, table.c.last_used_at).where(
            table.c.token_hash == digest
        )
    ).first()
    if row is None or now - row.last_used_at > IDLE or now - row.created_at > LONGEST:
        return None
    if now - row.last_used_at > TOUCH_EVERY:
        session.execute(update(table).where(table.c.token_hash == digest).values(last_used_at=now))
    return SignedIn(user_id=str(row.user_id), token_hash=digest)


def end_session(session: Session, table: Table, token: str) -> None:
    """Deletes the session of `token` (signing out); an unknown token changes nothing."""
    session.execute(delete(table).where(table.c.token_hash == hash_secret(token)))


def end_sessions_of(session: Session, table: Table, user_id: str) -> None:
    """Deletes every session of a user (a password change, a disabled account)."""
    session.execute(delete(table).where(table.c.user_id == user_id))


def purge_sessions(session: Session, table: Table, now: datetime) -> int:
    """Deletes the sessions that can no longer be used; returns how many."""
    result = session.execute(
        delete(table).where(
            (table.c.last_used_at < now - IDLE) | (table.c.created_at < now - LONGEST)
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
