"""Reading the bearer key of a request."""

from __future__ import annotations

from fastapi import Request

from hallkey.core.errors import Unauthorized


def bearer_token(request: Request) -> str:
    """Returns the bearer token of the request; raises Unauthorized when there is none."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing bearer token in the Authorization header")
    return token.strip()
