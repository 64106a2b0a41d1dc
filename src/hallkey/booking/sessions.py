"""Staff sign-in: password checks that tell nothing, and sessions kept only as hashes.

A session is a 256-bit secret in an HttpOnly cookie; the database keeps its SHA-256 only, so a
copy of the database signs no one in. Its CSRF token is an HMAC of the secret: a page gets it
at sign-in and sends it back as `X-CSRF-Token` on every unsafe request, which another site
cannot do, as it never sees the secret.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, select

from hallkey.booking.models import StaffSession, StaffUser
from hallkey.booking.staff import normalise_username
from hallkey.core.errors import Forbidden, Unauthorized
from hallkey.core.ids import new_id
from hallkey.core.security import (
    decoy_password_hash,
    hash_secret,
    keyed_digest,
    verify_password,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from hallkey.booking.context import BookingContext

COOKIE = "hallkey_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
TOUCH_SECONDS = 60
"""A session's last use is written at most this often (a read is not a write each time)."""


@dataclass(frozen=True)
class SignedIn:
    """A new session: `secret` goes into the cookie (and nowhere else), `csrf_token` to the page."""

    secret: str
    csrf_token: str
    expires_at: datetime
    user: StaffUser


def wrong_credentials() -> Unauthorized:
    """Returns the one error of every failed sign-in (unknown name, wrong password, disabled)."""
    return Unauthorized("wrong username or password", code="invalid_credentials")


def sign_in(
    ctx: BookingContext, session: Session, tenant_id: str, username: str, password: str
) -> SignedIn:
    """Returns a new session for the staff member; raises `wrong_credentials()`."""
    user = session.scalars(
        select(StaffUser).where(
            StaffUser.tenant_id == tenant_id,
            StaffUser.username == normalise_username(username),
        )
    ).first()
    matches = verify_password(password, user.password_hash if user else decoy_password_hash())
    if user is None or not matches or user.disabled_at is not None:
        raise wrong_credentials()
    now = ctx.clock.now()
    session.execute(
        delete(StaffSession).where(
            StaffSession.staff_user_id == user.id, StaffSession.expires_at <= now
        )
    )
    secret = secrets.token_urlsafe(32)
    expires_at = now + timedelta(hours=ctx.settings.staff_session_hours)
    session.add(
        StaffSession(
            id=new_id("ses"),
            secret_hash=hash_secret(secret),
            tenant_id=tenant_id,
            staff_user_id=user.id,
            created_at=now,
            last_seen_at=now,
            expires_at=expires_at,
        )
    )
    session.flush()
    return SignedIn(secret, csrf_of(secret), expires_at, user)


def csrf_of(secret: str) -> str:
    """Returns the CSRF token of a session."""
    return keyed_digest(secret.encode(), "csrf")


def check_csrf(secret: str, presented: str | None) -> None:
    """Raises Forbidden unless `presented` is the session's CSRF token (constant time)."""
    if presented is None or not hmac.compare_digest(csrf_of(secret), presented):
        raise Forbidden(
            f"a signed-in unsafe request needs the session's {CSRF_HEADER} header",
            code="csrf_failed",
            field=CSRF_HEADER,
        )


def live_session(
    ctx: BookingContext, session: Session, secret: str
) -> tuple[StaffSession, StaffUser]:
    """Returns the session of a cookie and its staff member; raises Unauthorized when it is
    unknown, ended (expired, idle too long) or its member is disabled."""
    found = session.scalars(
        select(StaffSession).where(StaffSession.secret_hash == hash_secret(secret))
    ).first()
    now = ctx.clock.now()
    idle = timedelta(minutes=ctx.settings.staff_session_idle_minutes)
    user = None if found is None else session.get(StaffUser, found.staff_user_id)
    if (
        found is None
        or user is None
        or found.expires_at <= now
        or found.last_seen_at + idle <= now
        or user.disabled_at is not None
    ):
        raise Unauthorized("not signed in, or the session has ended", code="session_ended")
    return found, user


def touch(ctx: BookingContext, secret: str) -> None:
    """Checks a session cookie and notes its use (for the idle timeout); raises Unauthorized."""
    with ctx.database.read() as session:
        found, _ = live_session(ctx, session, secret)
        now = ctx.clock.now()
        if (now - found.last_seen_at).total_seconds() < TOUCH_SECONDS:
            return
    with ctx.database.transaction() as session:
        found, _ = live_session(ctx, session, secret)
        found.last_seen_at = now


def end_session(session: Session, secret: str) -> None:
    """Ends the session of this cookie (nothing happens for an unknown one)."""
    session.execute(delete(StaffSession).where(StaffSession.secret_hash == hash_secret(secret)))
