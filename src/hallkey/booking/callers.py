"""Who is calling the booking API: a bearer token, or a staff member's sign-in cookie.

Every authenticated endpoint gets its `tokens.Principal` from `principal_of`, which also
checks the one scope the endpoint needs (the role's rights come from `scopes.ROLE_SCOPES`).
A cookie-authenticated unsafe request must carry the session's CSRF token. A bearer token is
looked up once a request: the key guard (core.guard) checks it before the body is read and
leaves its Principal in the request, which `principal_of` then takes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from fastapi import Request

from hallkey.booking import repository as repo
from hallkey.booking import sessions, setup, tokens
from hallkey.booking.models import Resource
from hallkey.booking.scopes import SETUP
from hallkey.core.auth import VERIFIED_KEY, VERIFIED_PRINCIPAL, ApiKey, bearer_of
from hallkey.core.errors import Forbidden, NotFound, Unauthorized

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from hallkey.booking.context import BookingContext


def session_cookie(request: Request) -> str | None:
    """Returns the sign-in cookie's secret of the request, if any."""
    return request.cookies.get(sessions.COOKIE) or None


def guard_principal(request: Request) -> tokens.Principal | None:
    """Returns who holds the request's bearer token as the key guard found it (its check, in
    `request_key`, ran just before the route), or None when no guard checked this token: the
    caller then looks it up itself."""
    bearer = bearer_of(request.headers.get("authorization"))
    if bearer is None or request.scope.get(VERIFIED_KEY) != bearer:
        return None
    found = request.scope.get(VERIFIED_PRINCIPAL)
    if isinstance(found, tuple) and len(found) == 2 and isinstance(found[1], tokens.Principal):
        return found[1]
    return None


def _bearer_principal(session: Session, request: Request, bearer: str) -> tokens.Principal:
    known = guard_principal(request)
    return known if known is not None else tokens.authenticate_principal(session, bearer, None)


def principal_of(
    ctx: BookingContext, session: Session, request: Request, needed: str
) -> tokens.Principal:
    """Returns who is calling, if they may do what `needed` covers.

    A bearer token wins over a cookie. Raises Unauthorized (no or bad credentials, an ended
    session), Forbidden (`insufficient_scope`, `csrf_failed`).
    """
    bearer = bearer_of(request.headers.get("authorization"))
    if bearer is not None:
        principal = _bearer_principal(session, request, bearer)
    else:
        principal = signed_in(ctx, session, request)
    tokens.require(principal, needed)
    return principal


def principal_first(ctx: BookingContext, request: Request, needed: str) -> tokens.Principal:
    """Returns `principal_of` for a handler that needs it before its write transaction: the
    guard's finding, else looked up in a read-only session (on SQLite the write lock is then
    held only for the change, not for the lookup of who makes it)."""
    known = guard_principal(request)
    if known is not None:
        tokens.require(known, needed)
        return known
    with ctx.database.read() as session:
        return principal_of(ctx, session, request, needed)


def signed_in(ctx: BookingContext, session: Session, request: Request) -> tokens.Principal:
    """Returns the staff member whose sign-in cookie the request carries (with the CSRF token
    on an unsafe request); raises Unauthorized or Forbidden."""
    secret = session_cookie(request)
    if secret is None:
        raise Unauthorized("sign in, or send a bearer token in the Authorization header")
    _, user = sessions.live_session(ctx, session, secret)
    if request.method not in sessions.SAFE_METHODS:
        sessions.check_csrf(secret, request.headers.get(sessions.CSRF_HEADER))
    return tokens.staff_principal(user, signed_in=True)


def staff_of(ctx: BookingContext, session: Session, request: Request) -> tokens.Principal:
    """Returns the staff member calling (signed in, or through a personal token); raises
    Forbidden (`staff_only`) for an integration's token."""
    bearer = bearer_of(request.headers.get("authorization"))
    if bearer is None:
        return signed_in(ctx, session, request)
    principal = _bearer_principal(session, request, bearer)
    if principal.staff_id is None:
        raise Forbidden("only a staff member's own token may do this", code="staff_only")
    return principal


def setup_tenant(ctx: BookingContext, session: Session, request: Request, slug: str | None) -> str:
    """Returns the tenant a set-up request acts for: the operator names it (`tenant`); a
    caller with the `setup` scope acts for its own (naming another is 403)."""
    bearer = bearer_of(request.headers.get("authorization"))
    if bearer is not None and setup.is_operator_key(bearer):
        return setup.setup_tenant(session, bearer, slug)
    tenant_id = principal_of(ctx, session, request, SETUP).tenant_id
    if slug is not None:
        named = repo.tenant_by_slug(session, slug)
        if named is None:
            raise NotFound("unknown tenant", field="tenant")
        if named.id != tenant_id:
            raise Forbidden("this caller belongs to another tenant", field="tenant")
    return tenant_id


def request_key(
    ctx: BookingContext,
    verify_bearer: Callable[[Session, str], object],
    *,
    scheme_name: str,
    description: str,
) -> ApiKey:
    """Returns the key dependency of booking routes: a bearer token `verify_bearer` accepts, or
    a live sign-in cookie (checked before the body is read, its use noted). What
    `verify_bearer` returns (a token's `tokens.Principal`) is what `principal_of` takes."""

    def verify(token: str) -> object:
        with ctx.database.read() as session:
            return verify_bearer(session, token)

    return ApiKey(
        scheme_name=scheme_name,
        description=description,
        verify=verify,
        cookie=sessions.COOKIE,
        verify_cookie=lambda secret: sessions.touch(ctx, secret),
    )


def check_venue(session: Session, principal: tokens.Principal, resource_id: str) -> None:
    """Raises NotFound (as for an unknown reservation) when the caller is bound to venues and
    the resource is at none of them: another venue's bookings do not exist for it."""
    if principal.venue_ids is None:
        return
    resource = session.get(Resource, resource_id)
    if resource is None or not principal.may_see_venue(resource.venue_id):
        raise NotFound("unknown reservation")
