"""The hub operator's pages under `/hub/admin`: sign-in, doors and their health, clients and
their keys (add, revoke), sites, grants with each door's state, messages, audit.

Server-rendered (`hallkey.core.pages`), no JavaScript. The session cookie is HttpOnly and
SameSite=Lax, limited to `/hub/admin` (Secure behind HTTPS); every form carries the CSRF
token. The pages call the same services as the operator API.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from hallkey.core.errors import AppError
from hallkey.core.pages import Pages, SignInNeeded, check_csrf, page_route, read_form
from hallkey.hub import admin_views, client_keys
from hallkey.hub.admins import SignIn
from hallkey.hub.context import HubContext
from hallkey.hub.models import HubAdmin

HERE = Path(__file__).parent
PAGES = Pages(HERE / "templates", HERE / "locale", "/hub/static")
SESSION_COOKIE = "hk_hub_admin"
BASE = "/hub/admin"
Form = Annotated[dict[str, str], Depends(read_form)]


def _error_page(request: Request, error: AppError) -> HTMLResponse:
    return PAGES.error(request, error)


PageRoute = page_route(f"{BASE}/login", _error_page)


def _safe_next(value: str) -> str:
    """Only a path of these pages may be where a sign-in leads (no open redirect)."""
    return value if value.startswith(f"{BASE}") and "//" not in value else BASE


def build_admin_router(ctx: HubContext) -> APIRouter:
    """Returns the router of the hub's admin pages."""
    router = APIRouter(route_class=PageRoute, include_in_schema=False)
    sign_in = SignIn(ctx)

    def admin_of(request: Request, session: Session) -> HubAdmin:
        """Returns the operator signed in; raises SignInNeeded (to the sign-in page)."""
        token = request.cookies.get(SESSION_COOKIE, "")
        admin = sign_in.who(session, token) if token else None
        if admin is None:
            raise SignInNeeded()
        return admin

    def page(
        request: Request, template: str, admin: HubAdmin, status: int = 200, **values: Any
    ) -> HTMLResponse:
        return PAGES.render(
            request, template, status=status, admin=admin, base=BASE,
            tz=ctx.settings.default_timezone, **values,
        )  # fmt: skip

    @router.get(f"{BASE}/login", response_class=HTMLResponse)
    def login_form(request: Request, next: str = BASE) -> HTMLResponse:
        """The sign-in form."""
        return PAGES.render(request, "admin/login.html", next=_safe_next(next), error="")

    @router.post(f"{BASE}/login", response_model=None)
    def login(request: Request, form: Form) -> Response:
        """Signs an operator in (throttled); the same answer for any wrong username or
        password."""
        target = _safe_next(form.get("next", BASE))
        if not check_csrf(request, form):
            error = PAGES.gettext_request(request, "The form has expired. Try again.")
            return PAGES.render(request, "admin/login.html", status=403, next=target, error=error)
        address = request.client.host if request.client else "unknown"
        try:
            with ctx.database.transaction() as session:
                token = sign_in.sign_in(
                    session, form.get("username", ""), form.get("password", ""), address
                )
        except AppError as exc:
            if exc.status == 429:
                error = PAGES.gettext_request(
                    request, "Too many attempts. Wait a while and try again."
                )
            else:
                error = PAGES.gettext_request(request, "Wrong username or password.")
            return PAGES.render(
                request, "admin/login.html", status=exc.status, next=target, error=error,
                headers=dict(exc.headers or {}),
            )  # fmt: skip
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            token,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
            path=BASE,
        )
        return response

    @router.post(f"{BASE}/logout", response_model=None)
    def logout(request: Request, form: Form) -> Response:
        """Signs out (ends the session)."""
        token = request.cookies.get(SESSION_COOKIE, "")
        if token and check_csrf(request, form):
            with ctx.database.transaction() as session:
                sign_in.sign_out(session, token)
        response = RedirectResponse(f"{BASE}/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path=BASE)
        return response

    @router.get(BASE, response_model=None)
    def overview(request: Request) -> Response:
        """Doors and their health (offline first), and what needs attention."""
        with ctx.database.transaction() as session:
            admin = admin_of(request, session)
            counts = admin_views.summary(session)
            doors = admin_views.doors(session)
        return page(request, "admin/overview.html", admin, counts=counts, doors=doors)

    @router.get(f"{BASE}/clients", response_model=None)
    def clients(request: Request) -> Response:
        """Clients with their keys."""
        with ctx.database.transaction() as session:
            admin = admin_of(request, session)
            rows = admin_views.clients(session)
        return page(request, "admin/clients.html", admin, clients=rows, new_key=None)

    @router.post(f"{BASE}/clients/{{client_id}}/keys", response_model=None)
    def add_key(request: Request, client_id: str, form: Form) -> Response:
        """Adds a key to a client and shows it once."""
        return change_key(request, form, client_id, None)

    @router.post(f"{BASE}/clients/{{client_id}}/keys/{{key_id}}/revoke", response_model=None)
    def revoke_key(request: Request, client_id: str, key_id: str, form: Form) -> Response:
        """Revokes one of a client's keys."""
        return change_key(request, form, client_id, key_id)

    def change_key(
        request: Request, form: dict[str, str], client_id: str, key_id: str | None
    ) -> Response:
        notice, ok, new_key, status = "", True, None, 200
        with ctx.database.transaction() as session:
            admin = admin_of(request, session)
            if not check_csrf(request, form):
                notice, ok, status = (
                    PAGES.gettext_request(request, "The form has expired. Try again."),
                    False,
                    403,
                )
            else:
                try:
                    if key_id is None:
                        name = form.get("name", "").strip() or "new key"
                        new_key = client_keys.add_key(ctx, session, client_id, name[:200]).api_key
                    else:
                        client_keys.revoke_key(ctx, session, client_id, key_id)
                        notice = PAGES.gettext_request(request, "The key is revoked.")
                except AppError as exc:
                    notice, ok, status = exc.message, False, exc.status
            rows = admin_views.clients(session)
        return page(
            request,
            "admin/clients.html",
            admin,
            status,
            clients=rows,
            new_key=new_key,
            new_key_client=client_id,
            notice=notice,
            notice_ok=ok,
        )

    @router.get(f"{BASE}/sites", response_model=None)
    def sites(request: Request) -> Response:
        """Sites with their connectors (never their configuration)."""
        with ctx.database.transaction() as session:
            admin = admin_of(request, session)
            rows = admin_views.sites(session)
        return page(request, "admin/sites.html", admin, sites=rows)

    @router.get(f"{BASE}/grants", response_model=None)
    def grants(request: Request, ref: str = "", state: str = "") -> Response:
        """The newest grants, or one ref's, with each door's state and errors."""
        with ctx.database.transaction() as session:
            admin = admin_of(request, session)
            rows = admin_views.grants(session, ref=ref[:64] or None, state=state[:16] or None)
        return page(
            request, "admin/grants.html", admin, grants=rows, ref=ref[:64], state=state[:16]
        )

    @router.get(f"{BASE}/messages", response_model=None)
    def messages(request: Request, state: str = "") -> Response:
        """The newest messages and their delivery state."""
        with ctx.database.transaction() as session:
            admin = admin_of(request, session)
            rows = admin_views.deliveries(session, state=state[:16] or None)
        return page(request, "admin/messages.html", admin, deliveries=rows, state=state[:16])

    @router.get(f"{BASE}/audit", response_model=None)
    def audit(request: Request, ref: str = "") -> Response:
        """The newest audit records, or one ref's."""
        with ctx.database.transaction() as session:
            admin = admin_of(request, session)
            rows = admin_views.audit(session, ref=ref[:64] or None)
        return page(request, "admin/audit.html", admin, entries=rows, ref=ref[:64])

    return router
