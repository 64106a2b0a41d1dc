"""The gate in front of every route: the API key first, then the body's size and type.

FastAPI reads and parses a request's body before it resolves the route's dependencies, so a
key checked by a dependency alone is checked too late: a stranger's 50 MB body would be read
and answered with a 422. `KeyGuard` finds the route itself, verifies its `ApiKey` (if it has
one) before anything of the body is read, and only then lets the body through, counted
against `max_body_bytes` whether or not it announced a `Content-Length`.

Wrong keys are counted per source address: past the limit, each further wrong key from that
address gets 429 with `Retry-After` instead of 401, so keys cannot be guessed at speed. A valid
key is always served: an address is shared (a proxy, a NAT, the host where the hub and the
booking system call each other), and a keyless stranger must not be able to stall the calls
of a peer behind it (a revocation on its way to a door).
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import cookie_parser
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hallkey.core.auth import VERIFIED_KEY, VERIFIED_PRINCIPAL, ApiKey, bearer_of
from hallkey.core.errors import (
    AppError,
    PayloadTooLarge,
    TooManyRequests,
    Unauthorized,
    UnsupportedMediaType,
)
from hallkey.core.throttle import Throttle

log = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 1024 * 1024


class BodyTooLarge(HTTPException):
    """Raised while a streamed body is read past the cap (FastAPI passes HTTP errors on)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")


class KeyGuard:
    """Refuses requests without a valid key (401) before their body is read, then caps the
    body (413) and requires JSON where a route takes a JSON body (415).

    `routes` are the APIRoutes with their full paths (as the contexts' routers hold them);
    a request matching none of them (health, metrics, OpenAPI, a 404) needs no key.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        routes: list[BaseRoute],
        max_body_bytes: int,
        wrong_keys: Throttle,
    ) -> None:
        self.app = app
        self.routes = routes
        self.max_body_bytes = max_body_bytes
        self.wrong_keys = wrong_keys
        self._keys: dict[int, ApiKey | None] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route = self._route(scope)
        try:
            if route is not None:
                await self._authenticate(scope, route)
                self._check_media_type(scope, route)
            length = _content_length(scope)
            if length is not None and length > self.max_body_bytes:
                raise PayloadTooLarge(
                    f"the request body is larger than {self.max_body_bytes} bytes", field="body"
                )
        except AppError as exc:
            response = JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)
            await response(scope, receive, send)
            return
        await self.app(scope, self._capped(receive), send)

    def _route(self, scope: Scope) -> APIRoute | None:
        for route in self.routes:
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return route if isinstance(route, APIRoute) else None
        return None

    def _key_of(self, route: APIRoute) -> ApiKey | None:
        if id(route) not in self._keys:
            self._keys[id(route)] = _find_key(route.dependant)
        return self._keys[id(route)]

    async def _authenticate(self, scope: Scope, route: APIRoute) -> None:
        key = self._key_of(route)
        if key is None:
            return  # a public route
        address = _source(scope)
        headers = Headers(scope=scope)
        authorization = headers.get("authorization")
        cookies = cookie_parser(headers.get("cookie", "")) if key.cookie else None
        try:
            token, principal = await run_in_threadpool(key.check_principal, authorization, cookies)
            scope[VERIFIED_KEY] = token
            scope[VERIFIED_PRINCIPAL] = (key, principal)
        except Unauthorized as exc:
            if bearer_of(authorization) is not None:  # a key was tried, not merely left out
                log.info("wrong %s key on %s", key.scheme_name, route.path)
                # Past the limit this raises 429 (uncounted): the wrong key learns nothing more.
                self.wrong_keys.hit(address, "too many wrong API keys from this address")
            exc.headers.setdefault("WWW-Authenticate", "Bearer")
            raise

    def _check_media_type(self, scope: Scope, route: APIRoute) -> None:
        if route.body_field is None or not _has_body(scope):
            return
        content_type = Headers(scope=scope).get("content-type", "")
        media = content_type.partition(";")[0].strip().lower()
        if media != "application/json" and not (
            media.startswith("application/") and media.endswith("+json")
        ):
            raise UnsupportedMediaType(
                "the request body must be JSON (Content-Type: application/json)",
                field="body",
            )

    def _capped(self, receive: Receive) -> Receive:
        limit = self.max_body_bytes
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        return counted


def _find_key(dependant: Dependant) -> ApiKey | None:
    call: Any = dependant.call
    while isinstance(call, partial):
        call = call.func
    if isinstance(call, ApiKey):
        return call
    for sub in dependant.dependencies:
        found = _find_key(sub)
        if found is not None:
            return found
    return None


def _content_length(scope: Scope) -> int | None:
    value = Headers(scope=scope).get("content-length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _has_body(scope: Scope) -> bool:
    headers = Headers(scope=scope)
    length = _content_length(scope)
    return (length is not None and length > 0) or "transfer-encoding" in headers


def _source(scope: Scope) -> str:
    # The peer's address as the server saw it; behind a proxy that is the proxy (run uvicorn
    # with --forwarded-allow-ips so that the client's address is the peer).
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


__all__ = ["DEFAULT_MAX_BODY_BYTES", "BodyTooLarge", "KeyGuard", "TooManyRequests"]
