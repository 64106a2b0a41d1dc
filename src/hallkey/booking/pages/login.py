"""`/login` and `/logout`: staff sign in with username and password; customers ask for a
one-time link by e-mail and, from the link, confirm with a button (a mail scanner that opens
the link signs nobody in). Both draw on the same throttles as the API's sign-in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from hallkey.booking import scopes, sessions, sign_in, staff
from hallkey.booking.pages import kit
from hallkey.booking.throttles import TOO_MANY_SIGN_INS
from hallkey.core.errors import AppError, TooManyRequests, Unauthorized
from hallkey.core.security import hash_secret

if TYPE_CHECKING:
    from hallkey.booking.context import BookingContext

STAFF_HOME = "/admin"
CUSTOMER_HOME = "/my"


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def build_router(ctx: BookingContext) -> APIRouter:
    """Returns the router of `/login` and `/logout`."""
    router = APIRouter(route_class=kit.PageRoute, include_in_schema=False)
    throttles = ctx.throttles

    def login_page(
        request: Request,
        *,
        status: int = 200,
        next_url: str = "",
        staff_error: str = "",
        email_error: str = "",
        sent: bool = False,
        token: str = "",
        email: str = "",
    ) -> HTMLResponse:
        with ctx.database.read() as session:
            who = kit.visitor(ctx, session, request)
        return kit.render(
            request,
            "login.html",
            who,
            status=status,
            next=next_url,
            staff_error=staff_error,
            email_error=email_error,
            sent=sent,
            token=token,
            email=email,
            customer_first=request.query_params.get("for") == "customer",
        )

    @router.get(kit.LOGIN, response_class=HTMLResponse)
    def login_form(request: Request, next: str = "", token: str = "") -> HTMLResponse:
        """The sign-in page; with a link's `token`, the button that redeems it."""
        return login_page(request, next_url=kit.safe_next(next, ""), token=token[:128])

    @router.post(f"{kit.LOGIN}/staff", response_model=None)
    def staff_sign_in(request: Request, form: kit.Form) -> Response:
        """Signs a staff member in (the same answer for any wrong name or password)."""
        kit.check_form(request, form)
        target = kit.safe_next(form.get("next"), STAFF_HOME)
        username = form.get("username", "")
        with ctx.database.read() as session:
            tenant_id = kit.visitor(ctx, session, request).tenant_id
        address = _address(request)
        who = f"{tenant_id}:{staff.normalise_username(username)}"
        try:
            throttles.staff_failures_per_address.check(address, TOO_MANY_SIGN_INS)
            throttles.staff_failures_per_username.check(who, TOO_MANY_SIGN_INS)
            try:
                with ctx.database.transaction() as session:
                    signed = sessions.sign_in(
                        ctx, session, tenant_id, username, form.get("password", "")
                    )
            except Unauthorized:
                throttles.staff_failures_per_address.hit(address, TOO_MANY_SIGN_INS)
                throttles.staff_failures_per_username.hit(who, TOO_MANY_SIGN_INS)
                raise
        except AppError as exc:
            message = (
                "Too many attempts. Wait a while and try again."
                if isinstance(exc, TooManyRequests)
                else "Wrong username or password."
            )
            response = login_page(
                request, status=exc.status, next_url=target, staff_error=kit.text(request, message)
            )
            response.headers.update(exc.headers or {})
            return response
        redirect = kit.see_other(target)
        redirect.set_cookie(
            sessions.COOKIE,
            signed.secret,
            max_age=int((signed.expires_at - ctx.clock.now()).total_seconds()),
            path="/",
            httponly=True,
            samesite="lax",
            secure=ctx.settings.cookie_secure or request.url.scheme == "https",
        )
        return redirect

    @router.post(f"{kit.LOGIN}/email", response_model=None)
    def ask_for_link(request: Request, form: kit.Form) -> Response:
        """E-mails a customer a one-time sign-in link; the page says the same whether or not
        the address is a customer's."""
        kit.check_form(request, form)
        email = form.get("email", "").strip()
        if "@" not in email or len(email) > 320:
            message = kit.text(request, "Write the e-mail address you booked with.")
            return login_page(request, status=422, email_error=message, email=email[:320])
        throttles.links_per_address.hit(_address(request))
        throttles.links_per_email.hit(hash_secret(email.lower()))
        with ctx.database.transaction() as session:
            tenant_id = kit.visitor(ctx, session, request).tenant_id
            # The e-mail speaks the language of the page the link was asked from.
            sign_in.request_link(ctx, session, tenant_id, email, lang=kit.lang_of(request))
        return login_page(request, sent=True)

    @router.post(f"{kit.LOGIN}/link", response_model=None)
    def redeem_link(request: Request, form: kit.Form) -> Response:
        """Trades a sign-in link's token for a customer session, then shows their page."""
        kit.check_form(request, form)
        throttles.sign_ins_per_address.hit(_address(request))
        try:
            with ctx.database.transaction() as session:
                token, _ = sign_in.redeem(ctx, session, form.get("token", ""))
        except Unauthorized:
            message = kit.text(request, "The link is used or has expired. Ask for a new one.")
            return login_page(request, status=401, email_error=message)
        response = kit.see_other(CUSTOMER_HOME)
        response.set_cookie(
            sign_in.COOKIE,
            token,
            max_age=sign_in.SESSION_DAYS * 24 * 3600,
            httponly=True,
            samesite="lax",
            secure=ctx.settings.cookie_secure or request.url.scheme == "https",
            path="/",
        )
        return response

    @router.post("/logout", response_model=None)
    def logout(request: Request, form: kit.Form) -> Response:
        """Signs out whoever is signed in (staff and customer), on the server too."""
        kit.check_form(request, form)
        with ctx.database.transaction() as session:
            secret = kit.staff_secret(request)
            if secret is not None:
                sessions.end_session(session, secret)
            token = request.cookies.get(sign_in.COOKIE)
            if token:
                try:
                    _, record = sign_in.signed_in(ctx, session, token)
                    sign_in.sign_out(session, record)
                except Unauthorized:
                    pass
        response = kit.see_other("/")
        response.delete_cookie(sessions.COOKIE, path="/", httponly=True, samesite="lax")
        response.delete_cookie(sign_in.COOKIE, path="/", httponly=True, samesite="lax")
        return response

    @router.get(STAFF_HOME, response_model=None)
    def admin_home(request: Request) -> Response:
        """The first page of the staff member's work: a case officer's requests, a
        caretaker's day, an admin's requests."""
        _, principal = kit.signed_in_staff(ctx, request, scopes.RESERVATIONS_READ)
        first = "/admin/today" if principal.role == "caretaker" else "/admin/requests"
        return kit.see_other(first)

    return router
