"""Cross-site request forgery protection for forms: a double-submit token.

The page sets a random token in an HttpOnly, SameSite cookie and repeats it in a hidden form
field; a post is taken only when the two match (compared in constant time). Another site can
make a browser post a form, but can neither read nor set the cookie.
"""

from __future__ import annotations

import hmac
import secrets

from starlette.requests import Request

CSRF_COOKIE = "hk_csrf"
CSRF_FIELD = "csrf"


def csrf_token(request: Request) -> str:
    """Returns the request's CSRF token (its cookie's), or a new one to set."""
    existing = request.cookies.get(CSRF_COOKIE, "")
    if 32 <= len(existing) <= 64:
        return existing
    return secrets.token_urlsafe(32)


def check_csrf(request: Request, form: dict[str, str]) -> bool:
    """Tells whether the form repeats the request's CSRF cookie."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = form.get(CSRF_FIELD, "")
    return bool(cookie) and hmac.compare_digest(cookie.encode(), sent.encode())
