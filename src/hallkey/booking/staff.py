"""Staff accounts of a tenant: made, changed, disabled and given new passwords by an admin.

Services only: the request owns the transaction. A password is only ever hashed (Argon2) and
never logged; a disabled member's sessions end at once and their personal tokens stop working
while they stay disabled.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import delete, select

from hallkey.booking import scopes
from hallkey.booking.models import StaffSession, StaffUser, Tenant, Venue
from hallkey.booking.staff_schemas import (
    PASSWORD_MAX,
    PASSWORD_MIN,
    StaffIn,
    StaffOut,
    StaffPatch,
)
from hallkey.core.errors import Conflict, InvalidInput, NotFound
from hallkey.core.ids import new_id
from hallkey.core.security import hash_password

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from hallkey.booking.context import BookingContext


def normalise_username(username: str) -> str:
    """Returns the username as stored and looked up: trimmed, lower case (`Ola` is `ola`)."""
    return username.strip().lower()


def staff_out(user: StaffUser) -> StaffOut:
    """Returns a staff member as the API shows them."""
    return StaffOut(
        id=user.id,
        username=user.username,
        role=user.role,  # checked on every write
        venue_ids=list(user.venue_ids),
        disabled=user.disabled_at is not None,
        created_at=user.created_at,
    )


def list_staff(session: Session, tenant_id: str) -> list[StaffOut]:
    """Returns the tenant's staff, by username."""
    users = session.scalars(
        select(StaffUser).where(StaffUser.tenant_id == tenant_id).order_by(StaffUser.username)
    )
    return [staff_out(user) for user in users]


def get_staff(session: Session, tenant_id: str, staff_id: str) -> StaffUser:
    """Returns the tenant's staff member; 404 for another tenant's (as for an unknown one)."""
    user = session.get(StaffUser, staff_id)
    if user is None or user.tenant_id != tenant_id:
        raise NotFound("unknown staff member", field="staff_id")
    return user


def check_password(password: str) -> None:
    """Raises InvalidInput (field `password`) unless the password is long enough, never
    echoing it."""
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise InvalidInput(
            f"password must be {PASSWORD_MIN} to {PASSWORD_MAX} characters", field="password"
        )


def _venues(session: Session, tenant_id: str, role: str, venue_ids: Sequence[str]) -> list[str]:
    wanted = sorted(set(venue_ids))
    if role in scopes.VENUE_BOUND_ROLES and not wanted:
        raise InvalidInput(f"a {role} needs at least one venue", field="venue_ids")
    if role not in scopes.VENUE_BOUND_ROLES and wanted:
        raise InvalidInput(f"a {role} sees every venue: give no venue_ids", field="venue_ids")
    if wanted:
        known = set(
            session.scalars(
                select(Venue.id).where(Venue.tenant_id == tenant_id, Venue.id.in_(wanted))
            )
        )
        if known != set(wanted):
            raise InvalidInput("venue_ids names an unknown venue", field="venue_ids")
    return wanted


def create_staff_user(
    ctx: BookingContext,
    session: Session,
    *,
    tenant_id: str,
    username: str,
    password: str,
    role: str = scopes.CASE_OFFICER,
    venue_ids: Sequence[str] = (),
) -> str:
    """Returns the id of a new staff member with an Argon2-hashed password."""
    if session.get(Tenant, tenant_id) is None:
        raise NotFound("unknown tenant", field="tenant_id")
    if role not in scopes.ROLES:
        raise InvalidInput(f"role must be one of {', '.join(scopes.ROLES)}", field="role")
    check_password(password)
    username = normalise_username(username)
    venues = _venues(session, tenant_id, role, venue_ids)
    taken = session.scalars(
        select(StaffUser.id).where(StaffUser.tenant_id == tenant_id, StaffUser.username == username)
    ).first()
    if taken:
        raise Conflict("this username is taken", field="username")
    user = StaffUser(
        id=new_id("usr"),
        tenant_id=tenant_id,
        username=username,
        password_hash=hash_password(password),
        role=role,
        venue_ids=venues,
        created_at=ctx.clock.now(),
    )
    session.add(user)
    session.flush()
    return user.id


def create_staff(ctx: BookingContext, session: Session, tenant_id: str, body: StaffIn) -> StaffOut:
    """Creates a staff member of the tenant."""
    staff_id = create_staff_user(
        ctx,
        session,
        tenant_id=tenant_id,
        username=body.username,
        password=body.password,
        role=body.role,
        venue_ids=body.venue_ids or (),
    )
    return staff_out(get_staff(session, tenant_id, staff_id))


def update_staff(
    ctx: BookingContext, session: Session, tenant_id: str, staff_id: str, body: StaffPatch
) -> StaffOut:
    """Changes a staff member's role, venues or disabled flag; the whole is checked first."""
    user = get_staff(session, tenant_id, staff_id)
    role = body.role or user.role
    if body.venue_ids is not None:
        venues = body.venue_ids
    elif role in scopes.VENUE_BOUND_ROLES:
        venues = user.venue_ids
    else:
        venues = []  # a caretaker made case officer sees the whole tenant
    user.venue_ids = _venues(session, tenant_id, role, venues)
    user.role = role
    if body.disabled is True and user.disabled_at is None:
        user.disabled_at = ctx.clock.now()
        end_sessions(session, user.id)
    elif body.disabled is False:
        user.disabled_at = None
    session.flush()
    return staff_out(user)


def reset_password(
    ctx: BookingContext, session: Session, tenant_id: str, staff_id: str, password: str
) -> StaffOut:
    """Gives a staff member a new password; their sessions end (whoever knew the old one is
    signed out)."""
    user = get_staff(session, tenant_id, staff_id)
    check_password(password)
    user.password_hash = hash_password(password)
    end_sessions(session, user.id)
    session.flush()
    return staff_out(user)


def end_sessions(session: Session, staff_id: str) -> None:
    """Ends every sign-in session of a staff member."""
    session.execute(delete(StaffSession).where(StaffSession.staff_user_id == staff_id))
