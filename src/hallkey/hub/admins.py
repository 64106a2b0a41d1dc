"""The hub's operators who sign in to its admin pages: accounts and sign-in.

Passwords are Argon2id hashes. A sign-in is throttled per username and per address, and an
unknown username costs as much as a wrong password (a hash is checked either way), with the
same answer, so the sign-in tells nobody which usernames exist.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from hallkey.core import sessions
from hallkey.core.errors import Conflict, InvalidInput, Unauthorized
from hallkey.core.ids import new_id
from hallkey.core.security import decoy_password_hash, hash_password, verify_password
from hallkey.core.throttle import Rate, Throttle
from hallkey.hub.context import HubContext
from hallkey.hub.models import HubAdmin, admin_sessions_table

MIN_PASSWORD_LENGTH = 12
SIGN_IN_PER_USERNAME = Rate(limit=10, per_seconds=15 * 60)
SIGN_IN_PER_ADDRESS = Rate(limit=30, per_seconds=15 * 60)


def create_admin(ctx: HubContext, session: Session, *, username: str, password: str) -> str:
    """Creates a hub operator account; returns its id."""
    name = username.strip()
    if not 1 <= len(name) <= 100:
        raise InvalidInput("a username has 1 to 100 characters", field="username")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"a password has at least {MIN_PASSWORD_LENGTH} characters", field="password"
        )
    if session.scalar(select(HubAdmin.id).where(HubAdmin.username == name)) is not None:
        raise Conflict("this username is taken", field="username")
    admin = HubAdmin(
        id=new_id("hadm"),
        username=name,
        password_hash=hash_password(password),
        created_at=ctx.clock.now(),
    )
    session.add(admin)
    session.flush()
    return admin.id


class SignIn:
    """Checks hub operators' passwords, throttled; hands out sessions."""

    def __init__(self, ctx: HubContext) -> None:
        self.ctx = ctx
        self.by_username = Throttle("hub_admin_sign_in_user", SIGN_IN_PER_USERNAME, ctx.clock)
        self.by_address = Throttle("hub_admin_sign_in_address", SIGN_IN_PER_ADDRESS, ctx.clock)

    def sign_in(self, session: Session, username: str, password: str, address: str) -> str:
        """Returns a new session token for a right username and password; raises
        TooManyRequests when throttled, Unauthorized otherwise (the same for both mistakes)."""
        self.by_address.hit(address, "too many sign-in attempts; try again later")
        self.by_username.hit(username.strip().lower(), "too many sign-in attempts; try again later")
        admin = session.scalars(
            select(HubAdmin).where(HubAdmin.username == username.strip())
        ).first()
        valid = verify_password(password, admin.password_hash if admin else decoy_password_hash())
        if admin is None or not valid:
            raise Unauthorized("wrong username or password")
        self.by_username.reset(username.strip().lower())
        return sessions.start_session(session, admin_sessions_table, admin.id, self.ctx.clock.now())

    def who(self, session: Session, token: str) -> HubAdmin | None:
        """Returns the operator signed in with `token`, or None."""
        found = sessions.find_session(session, admin_sessions_table, token, self.ctx.clock.now())
        return session.get(HubAdmin, found.user_id) if found else None

    def sign_out(self, session: Session, token: str) -> None:
        """Ends the session of `token`."""
        sessions.end_session(session, admin_sessions_table, token)
