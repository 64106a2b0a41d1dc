"""Booking API tokens: who is calling (their tenant) and whether they may do this."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from hallkey.booking import repository as repo
from hallkey.booking import scopes
from hallkey.booking.models import ApiToken
from hallkey.core.errors import Forbidden, Unauthorized
from hallkey.core.security import parse_api_key, verify_secret


def _token(session: Session, token: str) -> ApiToken:
    parsed = parse_api_key(token, "hkb")
    found = repo.token_by_key_id(session, parsed[0]) if parsed else None
    if parsed is None or found is None or not verify_secret(parsed[1], found.secret_hash):
        raise Unauthorized("invalid API token")
    return found


def verify(session: Session, token: str) -> str:
    """Returns the tenant id of a valid booking API token, whatever its scopes; raises
    Unauthorized otherwise (also for a key of another kind)."""
    return _token(session, token).tenant_id


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

    def may_see_venue(self, venue_id: str) -> bool:
        """Tells whether this caller may see what happens at the venue."""
        return self.venue_ids is None or venue_id in self.venue_ids


def authenticate_principal(session: Session, token: str, needed: str) -> Principal:
    """Returns who holds a booking API token with the `needed` scope.

    Raises Unauthorized if the token is not valid, Forbidden (`insufficient_scope`) if it
    may not do this; neither names any of the data asked for.
    """
    found = _token(session, token)
    if not scopes.allows(found.scopes, needed):
        raise Forbidden(f"this token lacks the scope {needed}", code="insufficient_scope")
    return Principal(
        tenant_id=found.tenant_id, actor=f"token:{found.id}", scopes=frozenset(found.scopes)
    )


def authenticate(session: Session, token: str, needed: str) -> str:
    """Returns the tenant id of a booking API token that holds the `needed` scope (see
    `authenticate_principal`)."""
    return authenticate_principal(session, token, needed).tenant_id
