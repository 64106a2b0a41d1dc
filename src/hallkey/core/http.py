"""Calls from one context to another over HTTP."""

from __future__ import annotations

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


def make_client(base_url: str, api_key: str, timeout_seconds: float) -> httpx.Client:
    """Returns an HTTP client for a peer's JSON API, authenticated with a bearer key."""
    return httpx.Client(
        base_url=base_url.rstrip("/"),
        headers={
            "Authorization": f"Bearer {api_key}",
            "User-Agent": f"hallkey/{__version__}",
        },
        timeout=timeout_seconds,
    )


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
