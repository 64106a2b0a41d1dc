"""The web process: one FastAPI app made of context parts, with health, metrics and errors.

A context hands in a `ContextPart` (its routers, workers and OpenAPI path); the combined
process and a single-role process are built by the same function, so they behave alike.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, FastAPI, Response
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.telemetry import TelemetryConfig
from prometheus_client import CONTENT_TYPE_LATEST, Histogram
from sqlalchemy import text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hallkey import __version__
from hallkey.core.clock import Clock, SystemClock
from hallkey.core.db import Database
from hallkey.core.errors import UnexpectedErrors, install_error_handlers
from hallkey.core.guard import KeyGuard
from hallkey.core.jobs import Worker
from hallkey.core.metrics import exposition
from hallkey.core.settings import Settings
from hallkey.core.throttle import Rate, Throttle
from hallkey.core.write_lock import UNIT_OF_WORK

log = logging.getLogger("hallkey.http")

NO_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}

REQUEST_SECONDS = Histogram(
    "hallkey_http_request_seconds",
    "HTTP requests by route template and status",
    ["method", "route", "status"],
)


@dataclass
class ContextPart:
    """What one context contributes to a web process."""

    name: str
    title: str
    openapi_path: str
    routers: Sequence[APIRouter]
    workers: Sequence[Worker] = ()
    healthy: Callable[[], bool] = lambda: True
    close: Callable[[], None] = lambda: None
    extra: dict[str, Any] = field(default_factory=dict)


def database_part(
    *,
    name: str,
    title: str,
    openapi_path: str,
    routers: Sequence[APIRouter],
    database: Database,
    worker: Worker,
    close: Callable[[], None],
) -> ContextPart:
    """Returns the part of a context whose health is its database answering a query."""

    def healthy() -> bool:
        with database.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True

    return ContextPart(
        name=name,
        title=title,
        openapi_path=openapi_path,
        routers=routers,
        workers=[worker],
        healthy=healthy,
        close=close,
    )


STANDARD_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}
)
"""The methods that get a metrics label of their own; any other is counted as `other`, so
that made-up methods cannot grow the metrics without bound."""

SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    # Answers carry codes, keys and personal data: no cache (browser or proxy) keeps them.
    (b"cache-control", b"no-store"),
)


class SecurityHeaders:
    """Adds the security headers to every response (a header the app set itself is kept)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in SECURITY_HEADERS if h[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class _RequestUnit:
    """A request as a unit of work holding a write lock: its method and route template, read
    when the hold ends (the route is matched after the middleware starts)."""

    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def labels(self) -> tuple[str, str]:
        """Returns the request's method (standard ones, else "other") and route template."""
        route = getattr(self._scope.get("route"), "path", "unmatched")
        method = self._scope["method"] if self._scope["method"] in STANDARD_METHODS else "other"
        return method, route

    def __str__(self) -> str:
        return " ".join(self.labels())


class MetricsMiddleware:
    """Times every request by its route template (never by its raw path: it may hold a token)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}
        unit = _RequestUnit(scope)
        UNIT_OF_WORK.set(unit)  # this request's task's own context

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            method, route = unit.labels()
            elapsed = time.perf_counter() - started
            REQUEST_SECONDS.labels(method, route, str(status["code"])).observe(elapsed)
            log.debug("%s %s %s %.1fms", method, route, status["code"], elapsed * 1000)


def create_app(
    parts: Sequence[ContextPart],
    *,
    run_workers: bool,
    settings: Settings | None = None,
    clock: Clock | None = None,
) -> FastAPI:
    """Returns the web app serving `parts`, starting their workers when `run_workers`.

    The body cap and the wrong-key limit come from `settings` (the environment by default).
    """
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if run_workers:
            for part in parts:
                for worker in part.workers:
                    worker.start()
        try:
            yield
        finally:
            for part in parts:
                for worker in part.workers:
                    worker.stop()
            for part in parts:
                part.close()

    app = FastAPI(
        title="hallkey",
        version=__version__,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
        # hallkey's figures are Prometheus's (/metrics). FastAPI's own OpenTelemetry asked for
        # a tracer, meter and logger provider on every request (2 % of a booking's CPU).
        telemetry=NO_TELEMETRY,
    )
    install_error_handlers(app)
    wrong_keys = Throttle(
        "wrong_api_keys", Rate(settings.wrong_keys_per_minute, 60.0), clock or SystemClock()
    )
    # Innermost first: the guard sees each request before any body is read.
    app.add_middleware(
        KeyGuard,
        # The parts' own routes: those in `app.router` are wrapped once included.
        routes=[route for part in parts for router in part.routers for route in router.routes],
        max_body_bytes=settings.max_body_bytes,
        wrong_keys=wrong_keys,
    )
    app.add_middleware(UnexpectedErrors)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(MetricsMiddleware)  # outermost: it counts the 500s too
    for router in _in_matching_order(parts):
        _add_routes(app, router)
    for part in parts:
        _add_openapi(app, part)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> JSONResponse:
        checks = {part.name: _safe(part.healthy) for part in parts}
        ok = all(checks.values())
        body = {"status": "ok" if ok else "degraded", "contexts": checks}
        return JSONResponse(body, status_code=200 if ok else 503)

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(exposition(), media_type=CONTENT_TYPE_LATEST)

    app.state.parts = {part.name: part for part in parts}
    return app


_API_PATH = re.compile(r"^/[a-z]+/v1/")


def _in_matching_order(parts: Sequence[ContextPart]) -> list[APIRouter]:
    """Returns the parts' routers, those whose every path is a versioned API's (`/api/v1/`,
    `/hub/v1/`, `/locks/v1/`) first, each group in the parts' order.

    A request is matched against the routes one by one, in this order (nothing skips a
    router's routes by its prefix): before, a door's `PUT /locks/v1/credentials/{ref}` was
    tried against 180 routes, most of them pages (4 % of a create-and-grant loop's CPU; 1.3
    % since).
    No page path starts like an API path, so no request finds another route than before.
    """
    routers = [router for part in parts for router in part.routers]

    def pages(router: APIRouter) -> bool:
        return not all(_API_PATH.match(getattr(r, "path", "")) for r in router.routes)

    return sorted(routers, key=pages)  # stable: the parts' order within each group


def _add_routes(app: FastAPI, router: APIRouter) -> None:
    """Adds the router's routes to the app as they are.

    Each route is built whole when it is declared on its router (its prefix and dependencies
    included), and the OpenAPI documents are made from those same routes. `include_router`
    would build every route again, lazily, at the first request a process answers (FastAPI
    0.165: half a second for the booking's 130 routes, paid by every test that makes an
    app), and on every request walk the router's routes to see whether any changed.
    """
    if router.on_startup or router.on_shutdown:
        raise ValueError("a context's router may not have start-up or shut-down handlers")
    app.router.routes.extend(router.routes)


def _safe(check: Callable[[], bool]) -> bool:
    try:
        return check()
    except Exception as exc:
        # The type only: a driver's message may quote stored values.
        log.error("health check failed: %s", type(exc).__name__)
        return False


def _add_openapi(app: FastAPI, part: ContextPart) -> None:
    cache: dict[str, Any] = {}

    def openapi() -> JSONResponse:
        if "doc" not in cache:
            routes = [route for router in part.routers for route in router.routes]
            cache["doc"] = get_openapi(title=part.title, version=__version__, routes=routes)
        return JSONResponse(cache["doc"])

    app.add_api_route(part.openapi_path, openapi, methods=["GET"], include_in_schema=False)
