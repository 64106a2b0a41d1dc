"""Calls from one context to another over HTTP, on pooled keep-alive connections."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from hallkey import __version__


class PeerError(Exception):
    """Another context or device could not be reached or answered with an error.

    `retryable` is false for answers that will not change on a retry: 4xx other than 408 and
    429, and other than 401/403 — a refused key is mended by an operator, and then the same
    call succeeds, so nothing waiting on it may be given up.
    `code` is the peer's error code when it gave one; the message holds no secrets.
    """

    def __init__(self, message: str, *, status: int | None, code: str | None, retryable: bool):
        super().__init__(message)
        self.status = status
        self.code = code
        self.retryable = retryable


# Below the 5 s for which uvicorn (and most servers) keep an idle connection: a connection is
# dropped here before the peer can close it under a request that is being sent.
KEEPALIVE_EXPIRY_SECONDS = 4.0


class PeerClients:
    """The process's HTTP clients, one per peer (address, key, timeout), kept and reused.

    A new `httpx.Client` builds a TLS context (reading the CA bundle) and opens a new
    connection: measured under load it cost more than the call itself. A kept client reuses
    its connections; it is safe to share between threads. At most `limit` peers are kept (a
    hub forwards to every client's events URL); the least recently used is dropped first.
    """

    def __init__(self, limit: int = 256) -> None:
        self.limit = limit
        self._clients: OrderedDict[tuple[str, str, float], httpx.Client] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, base_url: str, api_key: str, timeout_seconds: float) -> httpx.Client:
        """Returns the kept client for this peer and key, making it the first time."""
        # The key is held by the client's headers anyway; the map holds only its digest.
        digest = hashlib.sha256(api_key.encode()).hexdigest()
        peer = (base_url.rstrip("/"), digest, timeout_seconds)
        with self._lock:
            client = self._clients.get(peer)
            if client is not None and not client.is_closed:
                self._clients.move_to_end(peer)
                return client
            client = httpx.Client(
                base_url=peer[0],
                headers={
                    "Authorization": f"Bearer {api_key}",
                    "User-Agent": f"hallkey/{__version__}",
                },
                timeout=timeout_seconds,
                limits=httpx.Limits(
                    max_connections=64,
                    max_keepalive_connections=16,
                    keepalive_expiry=KEEPALIVE_EXPIRY_SECONDS,
                ),
            )
            self._clients[peer] = client
            while len(self._clients) > self.limit:
                # Dropped, not closed: another thread may be in a call on it; its sockets
                # close when the last reference goes.
                self._clients.popitem(last=False)
            return client


PEER_CLIENTS = PeerClients()
"""The clients of this process: contexts in one process share connections to a peer."""


@contextmanager
def make_client(base_url: str, api_key: str, timeout_seconds: float) -> Iterator[httpx.Client]:
    """Yields the pooled HTTP client for a peer's JSON API, authenticated with a bearer key.

    The client stays open after the block: its connections serve the next call to that peer.
    """
    yield PEER_CLIENTS.get(base_url, api_key, timeout_seconds)


def call_json(
    client: httpx.Client,
    method: str,
    path: str,
    body: Any | None = None,
    *,
    ok_statuses: tuple[int, ...] = (200, 201, 204),
) -> httpx.Response:
    """Sends a JSON request; returns the response if its status is in `ok_statuses`.

    Raises PeerError for a network failure or any other status.
    """
    try:
        response = client.request(method, path, json=body)
    except httpx.HTTPError as exc:
        raise PeerError(
            f"{method} {path}: {type(exc).__name__}",
            status=None,
            code="unreachable",
            retryable=True,
        ) from exc
    if response.status_code in ok_statuses:
        return response
    code: str | None = None
    message = ""
    try:
        error = response.json().get("error", {})
        code = error.get("code")
        message = str(error.get("message", ""))[:200]
    except (ValueError, AttributeError):
        pass
    status = response.status_code
    retryable = status >= 500 or status in (401, 403, 408, 429)
    raise PeerError(
        f"{method} {path}: {status} {code or ''} {message}".strip(),
        status=status,
        code=code,
        retryable=retryable,
    )
