"""What every booking page shares: who is looking (a visitor, staff or a customer), the
tenant the page is about, rendering with the booking's templates, form checks, and one place
that turns errors into pages.

The pages call the booking's services, never copies of them: a page's role check is the API's
(`tokens.require` on the staff member's principal), its errors are the services' errors.
Forms carry the double-submit CSRF token of `hallkey.core.pages`; page routers use
`PageRoute`, which renders a service's error as a page (or sends a visitor who must sign in
to `/login`), where the API would answer JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from hallkey.booking import public, sessions, sign_in, tokens
from hallkey.booking import repository as repo
from hallkey.booking.models import StaffUser
from hallkey.core import pages
from hallkey.core.errors import AppError, BadRequest, Forbidden, Unauthorized
from hallkey.core.pages import Pages, check_csrf, negotiate_lang, page_route, read_form

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from hallkey.booking.context import BookingContext

HERE = Path(__file__).parent.parent
PAGES = Pages(HERE / "templates", HERE / "locale", "/static")
LOGIN = "/login"
Form = Annotated[dict[str, str], Depends(read_form)]
"""A page handler's urlencoded form (`hallkey.core.pages.read_form`)."""


class SignInNeeded(pages.SignInNeeded):
    """Raised by a page only signed-in staff (or, with `customer`, a signed-in customer) may
    see: the visitor is sent to `/login` and back here after."""

    def __init__(self, customer: bool = False) -> None:
        super().__init__("for=customer" if customer else "")


@dataclass(frozen=True)
class Visitor:
    """Who looks at a page: the tenant it is about, and the staff member or customer signed
    in (either, both or neither)."""

    tenant_id: str
    tenant_name: str
    staff: tokens.Principal | None = None
    staff_username: str | None = None
    customer_id: str | None = None
    customer_name: str | None = None

    def may(self, scope: str) -> bool:
        """Tells whether the signed-in staff member's role allows `scope` (a menu shows only
        what its reader may open; the handler checks again)."""
        return self.staff is not None and self._allows(self.staff, scope)

    @staticmethod
    def _allows(principal: tokens.Principal, scope: str) -> bool:
        try:
            tokens.require(principal, scope)
        except Forbidden:
            return False
        return True


def staff_secret(request: Request) -> str | None:
    """Returns the staff sign-in cookie's secret, if the request carries one."""
    return request.cookies.get(sessions.COOKIE) or None


def _staff(
    ctx: BookingContext, session: Session, request: Request
) -> tuple[tokens.Principal, StaffUser] | None:
    secret = staff_secret(request)
    if secret is None:
        return None
    try:
        _, user = sessions.live_session(ctx, session, secret)
    except Unauthorized:
        return None
    return tokens.staff_principal(user, signed_in=True), user


def visitor(ctx: BookingContext, session: Session, request: Request) -> Visitor:
    """Returns who is looking at a page about the tenant of the request's host (or
    `?tenant=`); a signed-in staff member or customer of another tenant counts as a visitor
    there. Raises BadRequest (`tenant_required`) when no tenant can be told."""
    staff = _staff(ctx, session, request)
    customer_token = request.cookies.get(sign_in.COOKIE)
    customer = None
    if customer_token:
        try:
            customer, _ = sign_in.signed_in(ctx, session, customer_token)
        except Unauthorized:
            customer = None
    try:
        tenant_id = public.resolve_tenant(
            session, request.headers.get("host"), request.query_params.get("tenant")
        )
    except BadRequest:
        # Several tenants and no host name of theirs: a signed-in visitor's own tenant.
        if staff is not None:
            tenant_id = staff[0].tenant_id
        elif customer is not None:
            tenant_id = customer.tenant_id
        else:
            raise
    tenant = repo.tenant(session, tenant_id)
    assert tenant is not None
    principal, user = staff if staff is not None else (None, None)
    if principal is not None and principal.tenant_id != tenant_id:
        principal, user = None, None
    if customer is not None and customer.tenant_id != tenant_id:
        customer = None
    return Visitor(
        tenant_id=tenant_id,
        tenant_name=tenant.name,
        staff=principal,
        staff_username=user.username if user is not None else None,
        customer_id=customer.id if customer is not None else None,
        customer_name=customer.name if customer is not None else None,
    )


def require_staff(who: Visitor, scope: str) -> tokens.Principal:
    """Returns the signed-in staff member if their role allows `scope`; raises SignInNeeded
    for anyone else, Forbidden for a role that may not."""
    if who.staff is None:
        raise SignInNeeded()
    tokens.require(who.staff, scope)
    return who.staff


def signed_in_staff(
    ctx: BookingContext, request: Request, scope: str
) -> tuple[Visitor, tokens.Principal]:
    """Returns who is looking and, if they are staff whose role allows `scope`, their
    principal; raises as `require_staff` does otherwise."""
    with ctx.database.read() as session:
        who = visitor(ctx, session, request)
    return who, require_staff(who, scope)


def require_customer(who: Visitor) -> str:
    """Returns the signed-in customer's id; raises SignInNeeded otherwise."""
    if who.customer_id is None:
        raise SignInNeeded(customer=True)
    return who.customer_id


def check_form(request: Request, form: dict[str, str]) -> None:
    """Raises Forbidden (`csrf_failed`) unless the form repeats the page's CSRF token."""
    if not check_csrf(request, form):
        raise Forbidden("the form has expired; try again", code="csrf_failed", field="csrf")


def render(
    request: Request,
    template: str,
    who: Visitor | None,
    *,
    status: int = 200,
    **values: Any,
) -> HTMLResponse:
    """Renders a booking page for `who` (the layout's menu follows their role)."""
    return PAGES.render(request, template, status=status, who=who, **values)


def text(request: Request, message: str) -> str:
    """Returns `message` (English, a catalog key) in the request's language."""
    return PAGES.gettext_request(request, message)


def see_other(url: str) -> RedirectResponse:
    """Returns the redirect after a successful post (post, redirect, get)."""
    return RedirectResponse(url, status_code=303)


def safe_next(value: str | None, default: str = "/") -> str:
    """Returns where a sign-in may lead: only a path of this site (no open redirect)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return default


FIELD_MESSAGES = {
    "missing": "Required.",
    "string_too_short": "Too short.",
    "string_too_long": "Too long.",
    "datetime_parsing": "Not a valid time.",
    "datetime_from_date_parsing": "Not a valid time.",
    "date_parsing": "Not a valid date.",
    "date_from_datetime_parsing": "Not a valid date.",
    "int_parsing": "Not a whole number.",
    "value_error": "Not valid.",
}


def field_errors(request: Request, error: ValidationError | AppError) -> dict[str, str]:
    """Returns messages by field name (dotted, as the API names fields: `customer.phone`) for
    a form that did not pass, in the request's language; `""` holds what names no field."""
    if isinstance(error, AppError):
        return {error.field or "": error.message}
    found: dict[str, str] = {}
    for item in error.errors():
        name = ".".join(str(part) for part in item["loc"] if part != "body")
        message = FIELD_MESSAGES.get(item["type"])
        found.setdefault(name, text(request, message) if message else str(item["msg"]))
    return found


def error_page(request: Request, error: AppError) -> HTMLResponse:
    """Renders a service's error as a page with its status (no visitor: it may be unknown)."""
    return PAGES.error(request, error, "error.html", who=None)


PageRoute = page_route(LOGIN, error_page)
"""The route class of every booking page router (`hallkey.core.pages.page_route`)."""


def lang_of(request: Request) -> str:
    """Returns the page language of the request (`nb` or `en`)."""
    return negotiate_lang(request)
