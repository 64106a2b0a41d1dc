"""Calling an ASGI app of this process through a plain (synchronous) httpx client.

Used where the contexts are set up before any server listens (`hallkey serve --demo`): the
requests take the same path through the app as over the network (guard, keys, validation,
error handling), only without a socket. The app's lifespan is not run: no workers start.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import httpx
from starlette.types import ASGIApp


class InProcessTransport(httpx.BaseTransport):
    """An httpx transport that hands each request to an ASGI app, one event loop per request.

    Where an event loop already runs in the calling thread (a caller inside async code, or a
    browser driver's loop in a test), the request runs on a short-lived thread of its own.
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

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(run())
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, run()).result()
