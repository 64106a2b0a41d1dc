"""Staff through the API: accounts (`/api/v1/staff`, the `setup` scope), sign-in
(`/api/v1/session`) and personal tokens (`/api/v1/me/tokens`)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, Security

from hallkey.booking import callers, personal_tokens, public, scopes, sessions, staff, tokens
from hallkey.booking.api import TENANT_QUERY, needs
from hallkey.booking.context import BookingContext
from hallkey.booking.setup_api import setup_key_of
from hallkey.booking.staff_schemas import (
    IssuedPersonalTokenOut,
    PasswordIn,
    PersonalTokenIn,
    PersonalTokenOut,
    SessionOut,
    SignIn,
    StaffIn,
    StaffOut,
    StaffPatch,
)
from hallkey.booking.throttles import TOO_MANY_SIGN_INS
from hallkey.core.errors import AppError, Unauthorized
from hallkey.core.schemas import ERROR_RESPONSES

STAFF_ONLY = {"x-staff-only": True}
"""OpenAPI extra of endpoints for a staff member themself (signed in, or a personal token)."""


def build_routers(ctx: BookingContext) -> list[APIRouter]:
    """Returns the routers of staff accounts, sign-in and personal tokens (full paths)."""
    open_router = APIRouter(prefix="/api/v1", tags=["staff"], responses=ERROR_RESPONSES)
    own = APIRouter(
        prefix="/api/v1",
        tags=["staff"],
        responses=ERROR_RESPONSES,
        dependencies=[
            Security(
                callers.request_key(
                    ctx,
                    tokens.verify,
                    scheme_name="bookingToken",
                    description="API token or sign-in",
                )
            )
        ],
    )
    admin = APIRouter(
        prefix="/api/v1",
        tags=["staff"],
        responses=ERROR_RESPONSES,
        dependencies=[Security(setup_key_of(ctx))],
    )
    per_username = ctx.throttles.staff_failures_per_username
    per_address = ctx.throttles.staff_failures_per_address

    @open_router.post("/session", response_model=SessionOut)
    def sign_in(body: SignIn, request: Request, response: Response) -> SessionOut:
        """Signs a staff member in: sets the session cookie, returns the CSRF token."""
        address = request.client.host if request.client else "unknown"
        with ctx.database.read() as session:
            tenant_id = public.resolve_tenant(session, request.headers.get("host"), body.tenant)
        who = f"{tenant_id}:{staff.normalise_username(body.username)}"
        message = TOO_MANY_SIGN_INS
        per_address.check(address, message)
        per_username.check(who, message)
        try:
            with ctx.database.transaction() as session:
                signed = sessions.sign_in(ctx, session, tenant_id, body.username, body.password)
                out = SessionOut(
                    csrf_token=signed.csrf_token,
                    expires_at=signed.expires_at,
                    staff=staff.staff_out(signed.user),
                )
        except AppError:
            per_address.hit(address, message)
            per_username.hit(who, message)
            raise
        response.set_cookie(
            sessions.COOKIE,
            signed.secret,
            max_age=int((signed.expires_at - ctx.clock.now()).total_seconds()),
            path="/",
            httponly=True,
            samesite="lax",
            secure=ctx.settings.cookie_secure or request.url.scheme == "https",
        )
        return out

    @open_router.get("/session", response_model=SessionOut)
    def current_session(request: Request) -> SessionOut:
        """Returns the signed-in staff member and the session's CSRF token (for a page)."""
        secret = callers.session_cookie(request) or ""
        sessions.touch(ctx, secret)  # a page asking who is signed in is a use
        with ctx.database.read() as session:
            found, user = sessions.live_session(ctx, session, secret)
            return SessionOut(
                csrf_token=sessions.csrf_of(secret),
                expires_at=found.expires_at,
                staff=staff.staff_out(user),
            )

    @open_router.delete("/session", status_code=204, response_class=Response)
    def sign_out(request: Request) -> Response:
        """Signs out: ends the session (with its CSRF token) and clears the cookie."""
        secret = callers.session_cookie(request)
        if secret is not None:
            with ctx.database.transaction() as session:
                try:
                    callers.signed_in(ctx, session, request)
                except Unauthorized:
                    pass  # already ended: only the cookie is left to clear
                else:
                    sessions.end_session(session, secret)
        answer = Response(status_code=204)
        answer.delete_cookie(sessions.COOKIE, path="/", httponly=True, samesite="lax")
        return answer

    @own.get("/me/tokens", response_model=list[PersonalTokenOut], openapi_extra=STAFF_ONLY)
    def list_my_tokens(request: Request) -> list[PersonalTokenOut]:
        """Lists the caller's own personal API tokens (never their secrets)."""
        with ctx.database.read() as session:
            return personal_tokens.list_own(session, callers.staff_of(ctx, session, request))

    @own.post(
        "/me/tokens",
        status_code=201,
        response_model=IssuedPersonalTokenOut,
        openapi_extra=STAFF_ONLY,
    )
    def issue_my_token(body: PersonalTokenIn, request: Request) -> IssuedPersonalTokenOut:
        """Makes a personal API token acting as the signed-in staff member; shown only here."""
        with ctx.database.transaction() as session:
            principal = callers.staff_of(ctx, session, request)
            return personal_tokens.issue(ctx, session, principal, body)

    @own.delete(
        "/me/tokens/{token_id}", status_code=204, response_class=Response, openapi_extra=STAFF_ONLY
    )
    def revoke_my_token(token_id: str, request: Request) -> Response:
        """Revokes one of the caller's own personal tokens."""
        with ctx.database.transaction() as session:
            principal = callers.staff_of(ctx, session, request)
            personal_tokens.revoke_own(ctx, session, principal, token_id)
        return Response(status_code=204)

    @admin.get("/staff", response_model=list[StaffOut], openapi_extra=needs(scopes.SETUP))
    def list_staff(request: Request, tenant: str | None = TENANT_QUERY) -> list[StaffOut]:
        """Lists the tenant's staff with their roles and venues."""
        with ctx.database.read() as session:
            tenant_id = callers.setup_tenant(ctx, session, request, tenant)
            return staff.list_staff(session, tenant_id)

    @admin.post(
        "/staff", status_code=201, response_model=StaffOut, openapi_extra=needs(scopes.SETUP)
    )
    def create_staff(
        body: StaffIn, request: Request, tenant: str | None = TENANT_QUERY
    ) -> StaffOut:
        """Creates a staff member with a role (a caretaker with its venues) and a password."""
        with ctx.database.transaction() as session:
            tenant_id = callers.setup_tenant(ctx, session, request, tenant)
            return staff.create_staff(ctx, session, tenant_id, body)

    @admin.patch("/staff/{staff_id}", response_model=StaffOut, openapi_extra=needs(scopes.SETUP))
    def update_staff(
        staff_id: str, body: StaffPatch, request: Request, tenant: str | None = TENANT_QUERY
    ) -> StaffOut:
        """Changes a staff member's role or venues, or disables (or enables) them."""
        with ctx.database.transaction() as session:
            tenant_id = callers.setup_tenant(ctx, session, request, tenant)
            return staff.update_staff(ctx, session, tenant_id, staff_id, body)

    @admin.post(
        "/staff/{staff_id}/password", response_model=StaffOut, openapi_extra=needs(scopes.SETUP)
    )
    def reset_password(
        staff_id: str, body: PasswordIn, request: Request, tenant: str | None = TENANT_QUERY
    ) -> StaffOut:
        """Sets a staff member's new password; their sessions end."""
        with ctx.database.transaction() as session:
            tenant_id = callers.setup_tenant(ctx, session, request, tenant)
            return staff.reset_password(ctx, session, tenant_id, staff_id, body.password)

    return [open_router, own, admin]
