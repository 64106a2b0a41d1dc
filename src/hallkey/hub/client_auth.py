"""A client's API key on the hub's routes: verified once per request.

The guard (core.guard) verifies the key before the body is read and leaves the client it found
in the request. The route's own session takes that client up with `merge(load=False)`: no
second lookup of the same key, no query at all. Only when no guard ran (an app not built by
core.web) does the route look the key up itself.
"""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.orm import Session

from hallkey.core.auth import ApiKey, bearer_token, database_key, verified_principal
from hallkey.core.db import Database
from hallkey.hub.models import Client
from hallkey.hub.service import authenticate_client


def _guard_client(session: Session, token: str) -> Client:
    """The guard's check: the client, detached from its read session as it was read (that
    session's rollback would otherwise expire it), for the route's session to take up."""
    client = authenticate_client(session, token)
    session.expunge(client)
    return client


def client_key(database: Database) -> ApiKey:
    """Returns the ApiKey of the hub's client API keys (one per router: the guard's finding is
    taken only by routes of the key that found it)."""
    return database_key(database, _guard_client, scheme_name="clientKey", description="API key")


def request_client(session: Session, request: Request, key: ApiKey) -> Client:
    """Returns, in `session`, the client whose API key the request presents: the one the guard
    found for `key`, or (no guard ran) the one looked up here; raises Unauthorized."""
    known = verified_principal(request, key)
    if isinstance(known, Client):
        # A copy of the guard's row, attached as read: the guard's object is left untouched.
        return session.merge(known, load=False)
    return authenticate_client(session, bearer_token(request))
