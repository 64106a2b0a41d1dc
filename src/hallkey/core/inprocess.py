"""Calling an ASGI app of this process through a plain (synchronous) httpx client.

Used where the contexts are set up before any server listens (`hallkey serve --demo`): the
requests take the same path through the app as over the network (guard, keys, validation,
error handling), only without a socket. The app's lifespan is not run: no workers start.
"""

from __future__ import annotations

import asyncio

import httpx
from starlette.types import ASGIApp


class InProcessTransport(httpx.BaseTransport):
    """An httpx transport that hands each request to an ASGI app, one event loop per request.

    Use it only where no event loop runs in the calling thread.
    """

    def __init__(self, app: ASGIApp) -> None:
        self._asgi = httpx.ASGITransport(app=app, client=("127.0.0.1", 0))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Returns the app's whole response to the request."""
        body = request.read()

        async def run() -> httpx.Response:
            forwarded = httpx.Request(
                request.method, request.url, headers=request.headers, content=body
            )
            response = await self._asgi.handle_async_request(forwarded)
            content = await response.aread()
            return httpx.Response(
                response.status_code, headers=response.headers, content=content, request=request
            )

        return asyncio.run(run())
