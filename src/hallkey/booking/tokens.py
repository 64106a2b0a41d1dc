"""Booking API tokens: who is calling (their tenant) and whether they may do this."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from hallkey.booking import repository as repo
from hallkey.booking import scopes
from hallkey.booking.models import ApiToken, StaffUser
from hallkey.core.errors import Forbidden, Unauthorized
from hallkey.core.security import parse_api_key, verify_secret


def _token(session: Session, token: str) -> tuple[ApiToken, StaffUser | None]:
    parsed = parse_api_key(token, "hkb")
    found = repo.token_by_key_id(session, parsed[0]) if parsed else None
    if parsed is None or found is None or not verify_secret(parsed[1], found.secret_hash):
        raise Unauthorized("invalid API token")
    if found.staff_user_id is None:
        return found, None
    # A personal token lives only as long as its maker may act.
    maker = session.get(StaffUser, found.staff_user_id)
    if maker is None or maker.disabled_at is not None:
        raise Unauthorized("invalid API token")
    return found, maker


@dataclass(frozen=True)
class Principal:
    """Who is calling: their tenant, an id to record as the actor of what they do (`token:<id>`
    or `staff:<id>`), what they may do, and — for staff — their role and the venues they are
    limited to (`None`: every venue of the tenant)."""

    tenant_id: str
    actor: str
    scopes: frozenset[str]
    role: str | None = None
    venue_ids: frozenset[str] | None = None
    staff_id: str | None = None
    signed_in: bool = False
    """True for a sign-in session (a password was shown), False for any token."""

    def may_see_venue(self, venue_id: str) -> bool:
        """Tells whether this caller may see what happens at the venue."""
        return self.venue_ids is None or venue_id in self.venue_ids


def authenticate_principal(session: Session, token: str, needed: str | None) -> Principal:
    """Returns who holds a booking API token with the `needed` scope (any, when None).

    Raises Unauthorized if the token is not valid, Forbidden (`insufficient_scope`) if it
    may not do this; neither names any of the data asked for.
    """
    found, maker = _token(session, token)
    if maker is None:
        principal = Principal(
            tenant_id=found.tenant_id, actor=f"token:{found.id}", scopes=frozenset(found.scopes)
        )
    else:
        principal = staff_principal(maker, found.scopes)
    if needed is not None:
        require(principal, needed)
    return principal


def verify(session: Session, token: str) -> Principal:
    """Returns who holds a valid booking API token, whatever its scopes; raises Unauthorized
    otherwise (also for a key of another kind). The key guard's check of booking routes."""
    return authenticate_principal(session, token, None)


def staff_principal(
    user: StaffUser, held: Iterable[str] | None = None, *, signed_in: bool = False
) -> Principal:
    """Returns a staff member as a caller: what their role allows (narrowed to `held`, the
    scopes of their personal token) and, for a venue-bound role, their venues."""
    role_scopes = scopes.ROLE_SCOPES.get(user.role, frozenset())
    return Principal(
        tenant_id=user.tenant_id,
        actor=f"staff:{user.id}",
        scopes=scopes.effective(role_scopes if held is None else held, user.role),
        role=user.role,
        venue_ids=frozenset(user.venue_ids) if user.role in scopes.VENUE_BOUND_ROLES else None,
        staff_id=user.id,
        signed_in=signed_in,
    )


def require(principal: Principal, needed: str) -> None:
    """Raises Forbidden (`insufficient_scope`) unless the caller may do what `needed` covers."""
    if not scopes.allows(principal.scopes, needed):
        raise Forbidden(f"this caller lacks the scope {needed}", code="insufficient_scope")


def authenticate(session: Session, token: str, needed: str) -> str:
    """Returns the tenant id of a booking API token that holds the `needed` scope (see
    `authenticate_principal`)."""
    return authenticate_principal(session, token, needed).tenant_id
