"""Errors that carry their HTTP status, and the one handler that renders them as JSON.

Every error leaves as `{"error": {"code", "message", "field"}}`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)


class AppError(Exception):
    """Base of every error a client may see; subclasses fix status and code."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.field = field
        self.headers = dict(headers or {})
        if code is not None:
            self.code = code  # type: ignore[misc]

    def body(self) -> dict[str, Any]:
        """Returns the JSON body of this error."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            error["field"] = self.field
        return {"error": error}


class BadRequest(AppError):
    status = 400
    code = "bad_request"


class InvalidInput(AppError):
    status = 422
    code = "invalid"


class Unauthorized(AppError):
    status = 401
    code = "unauthorized"


class Forbidden(AppError):
    status = 403
    code = "forbidden"


class NotFound(AppError):
    status = 404
    code = "not_found"


class Conflict(AppError):
    status = 409
    code = "conflict"


class TooManyRequests(AppError):
    """429 with `Retry-After` (whole seconds, at least 1)."""

    status = 429
    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after: float, field: str | None = None):
        self.retry_after = max(1, math.ceil(retry_after))
        super().__init__(message, field=field, headers={"Retry-After": str(self.retry_after)})


class PayloadTooLarge(AppError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(AppError):
    status = 415
    code = "unsupported_media_type"


class Unavailable(AppError):
    status = 503
    code = "unavailable"


_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "too_many_requests",
}


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    """Returns the JSON body for an error."""
    error: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        error["field"] = field
    return {"error": error}


def _field_of(error: dict[str, Any]) -> str | None:
    loc: Sequence[Any] = error.get("loc", ())
    if error.get("type") == "json_invalid" or tuple(loc) == ("body",):
        # The body as a whole: not JSON (its loc holds a character position), or missing.
        return "body"
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or None


_RETRYABLE_SQLSTATES = frozenset({"40001", "40P01", "55P03", "53300"})
"""PostgreSQL's serialization failure, deadlock, lock-not-available and too-many-connections:
nothing was done (or it was rolled back whole) and the same request succeeds when sent again."""

_BUSY_MESSAGES = ("database is locked", "too many clients already", "connection slots are")
"""SQLite's lock wait running out; PostgreSQL refusing a new connection when it is full (the
driver reports that refusal at connect, without a SQLSTATE)."""


def is_transient_database_error(exc: OperationalError) -> bool:
    """Tells whether a database error only means "busy now": a PostgreSQL deadlock,
    serialization failure or full server, or SQLite's lock wait running out."""
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate in _RETRYABLE_SQLSTATES:
        return True
    text = str(exc.orig)
    return any(message in text for message in _BUSY_MESSAGES)


def install_error_handlers(app: FastAPI) -> None:
    """Renders AppError, validation errors and HTTP errors in the common JSON shape, a database
    that is only busy as a 503 to retry, and any other exception as a 500 without its message."""

    @app.exception_handler(OperationalError)
    async def _database(request: Request, exc: OperationalError) -> JSONResponse:
        if not is_transient_database_error(exc):
            raise exc
        return _busy(request)

    @app.exception_handler(PoolTimeout)
    async def _no_connection(request: Request, _: PoolTimeout) -> JSONResponse:
        # Every connection of this process's pool stayed in use for the pool's wait.
        return _busy(request)

    @app.exception_handler(AppError)
    async def _app_error(_: Request, exc: AppError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers or None)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
        field = _field_of(dict(first))
        message = str(first.get("msg", "invalid request"))
        if field:
            message = f"{field}: {message}"
        return JSONResponse(error_body("invalid", message, field), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "error")
        field = "body" if exc.status_code in (413, 415) else None
        return JSONResponse(
            error_body(code, str(exc.detail), field),
            status_code=exc.status_code,
            headers=exc.headers,
        )


def _busy(request: Request) -> JSONResponse:
    # The route only: the driver's message may quote stored values.
    log.warning("database busy on %s %s; answered 503", request.method, _route(request))
    return JSONResponse(
        error_body("busy", "the database was busy; send the request again"),
        status_code=503,
        headers={"Retry-After": "1"},
    )


class UnexpectedErrors:
    """Answers an unexpected exception with the JSON 500, logging only its type and route.

    It sits inside Starlette's outermost error middleware, which would log the full traceback
    and message (where a driver may quote a phone number or a code) and re-raise to the server.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:
            route = getattr(scope.get("route"), "path", "?")
            log.error("unhandled %s on %s %s", type(exc).__name__, scope.get("method"), route)
            if started:
                return  # the status has gone out; the server closes the response
            response = JSONResponse(error_body("internal", "internal error"), status_code=500)
            await response(scope, receive, send)


def _route(request: Request) -> str:
    route = request.scope.get("route")
    return getattr(route, "path", "?")
