"""Booking API tokens: who is calling (their tenant)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from hallkey.booking import repository as repo
from hallkey.core.errors import Unauthorized
from hallkey.core.security import parse_api_key, verify_secret


def authenticate(session: Session, token: str) -> str:
    """Returns the tenant id of a booking API token; raises Unauthorized if it is not valid."""
    parsed = parse_api_key(token)
    if parsed is None:
        raise Unauthorized("invalid API token")
    key_id, secret = parsed
    found = repo.token_by_key_id(session, key_id)
    if found is None or not verify_secret(secret, found.secret_hash):
        raise Unauthorized("invalid API token")
    return found.tenant_id
