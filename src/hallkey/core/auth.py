"""Bearer API keys: reading them, and declaring which kind of key a route takes.

A route (or a whole router) that needs a key depends on an `ApiKey`. That one dependency
does three things: it names the bearer scheme in the OpenAPI document, it tells the
`KeyGuard` middleware (core.guard) to verify the key before the body is read, and, should a
request reach the route without the middleware, it verifies the key itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from fastapi import Request
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.security.base import SecurityBase
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from hallkey.core.db import Database
from hallkey.core.errors import Unauthorized

VERIFIED_KEY = "hallkey.verified_key"
"""Where in the ASGI scope the guard leaves the key it has verified."""

VERIFIED_PRINCIPAL = "hallkey.verified_principal"
"""Where in the ASGI scope the guard leaves, with the ApiKey that checked it, what the key's
check returned (a controller id…): the route need not look the same key up a second time."""


def bearer_of(authorization: str | None) -> str | None:
    """Returns the token of an `Authorization: Bearer <token>` header value, or None."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def bearer_token(request: Request) -> str:
    """Returns the bearer token of the request; raises Unauthorized when there is none."""
    token = bearer_of(request.headers.get("authorization"))
    if token is None:
        raise Unauthorized("missing bearer token in the Authorization header")
    return token


class ApiKey(SecurityBase):
    """One kind of bearer API key (a booking token, a hub client key…), as a dependency.

    `verify(token)` raises Unauthorized unless the token is a valid key of this kind; it may
    query the database (it runs in a worker thread). A route that also takes a sign-in
    session names its `cookie`; `verify_cookie(value)` raises Unauthorized unless the cookie
    holds a live session. A bearer token, when sent, is what counts.
    """

    def __init__(
        self,
        *,
        scheme_name: str,
        description: str,
        verify: Callable[[str], object],
        cookie: str | None = None,
        verify_cookie: Callable[[str], object] | None = None,
    ):
        self.model = HTTPBearerModel(description=description)
        self.scheme_name = scheme_name
        self.verify = verify
        self.cookie = cookie
        self.verify_cookie = verify_cookie

    def check(self, authorization: str | None, cookies: Mapping[str, str] | None = None) -> str:
        """Returns the presented token (or session cookie) after verifying it; raises
        Unauthorized."""
        return self.check_principal(authorization, cookies)[0]

    def check_principal(
        self, authorization: str | None, cookies: Mapping[str, str] | None = None
    ) -> tuple[str, object]:
        """Returns the presented token (or session cookie) and what its check found for it;
        raises Unauthorized."""
        token = bearer_of(authorization)
        if token is None and self.cookie is not None and self.verify_cookie is not None:
            value = (cookies or {}).get(self.cookie)
            if value:
                return value, self.verify_cookie(value)
        if token is None:
            raise Unauthorized("missing bearer token in the Authorization header")
        return token, self.verify(token)

    async def __call__(self, request: Request) -> str:
        token = request.scope.get(VERIFIED_KEY)
        if isinstance(token, str):
            return token
        # Only when no guard ran (an app not built by core.web): verify here, late but sure.
        return await run_in_threadpool(
            self.check, request.headers.get("authorization"), request.cookies
        )


def database_key(
    database: Database,
    authenticate: Callable[[Session, str], object],
    *,
    scheme_name: str,
    description: str,
) -> ApiKey:
    """Returns the ApiKey whose keys `authenticate(session, token)` accepts (raising
    Unauthorized otherwise), looked up in a read-only session of `database`."""

    def verify(token: str) -> object:
        with database.read() as session:
            return authenticate(session, token)

    return ApiKey(scheme_name=scheme_name, description=description, verify=verify)


def verified_principal(request: Request, key: ApiKey) -> object | None:
    """Returns what `key`'s check found for this request's key when the guard ran it (None
    otherwise: the caller then authenticates itself)."""
    found = request.scope.get(VERIFIED_PRINCIPAL)
    if isinstance(found, tuple) and len(found) == 2 and found[0] is key:
        principal: object = found[1]
        return principal
    return None
