"""An admin's `/admin/staff`: the tenant's staff (username, role, a caretaker's venues,
disabled), a new member, and each member's page to change role and venues, disable or enable
them, or reset their password.

A new member and a reset get a generated password, shown once on the page that answers the
form (never stored in plain, never in a log, the page not cached): the admin hands it over.
The forms build the API's bodies (`StaffIn`, `StaffPatch`) and call the `staff` service with
the `setup` scope.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from hallkey.booking import scopes, staff, venue_setup
from hallkey.booking.pages import kit
from hallkey.booking.pages.setup_pages import problems
from hallkey.booking.staff_schemas import StaffIn, StaffOut, StaffPatch
from hallkey.core.errors import AppError

if TYPE_CHECKING:
    from hallkey.booking.context import BookingContext

ROLES = {"admin": "Administrator", "case_officer": "Case officer", "caretaker": "Caretaker"}
NO_STORE = {"cache-control": "no-store"}


def new_password() -> str:
    """Returns a generated initial password (96 random bits, 16 characters)."""
    return secrets.token_urlsafe(12)


def _ticked(form: dict[str, str]) -> list[str]:
    """Returns the venues ticked on the form (checkboxes `venue.<id>`)."""
    return [
        name.removeprefix("venue.")
        for name, value in form.items()
        if name.startswith("venue.") and value == "on"
    ]


def _venue_ids(form: dict[str, str], role: str) -> list[str]:
    """Returns the venues ticked on the form, for a role bound to venues (none for others:
    they see the whole tenant)."""
    return _ticked(form) if role in scopes.VENUE_BOUND_ROLES else []


def build_router(ctx: BookingContext) -> APIRouter:
    """Returns the router of the staff pages."""
    router = APIRouter(route_class=kit.PageRoute, include_in_schema=False)

    def admin(request: Request) -> tuple[kit.Visitor, str]:
        who, principal = kit.signed_in_staff(ctx, request, scopes.SETUP)
        return who, principal.tenant_id

    def venue_names(tenant_id: str) -> dict[str, str]:
        with ctx.database.read() as session:
            return {venue.id: venue.name for venue in venue_setup.list_venues(session, tenant_id)}

    def list_page(
        request: Request,
        who: kit.Visitor,
        *,
        status: int = 200,
        values: dict[str, Any] | None = None,
        errors: dict[str, str] | None = None,
    ) -> HTMLResponse:
        with ctx.database.read() as session:
            members = staff.list_staff(session, who.tenant_id)
        return kit.render(
            request,
            "admin/setup/staff.html",
            who,
            status=status,
            members=members,
            venues=venue_names(who.tenant_id),
            roles=ROLES,
            values=values or {"venue_ids": []},
            errors=errors or {},
        )

    def member_page(
        request: Request,
        who: kit.Visitor,
        member: StaffOut,
        *,
        status: int = 200,
        password: str = "",
        values: dict[str, Any] | None = None,
        errors: dict[str, str] | None = None,
        notice: str = "",
    ) -> HTMLResponse:
        response = kit.render(
            request,
            "admin/setup/member.html",
            who,
            status=status,
            member=member,
            venues=venue_names(who.tenant_id),
            roles=ROLES,
            password=password,
            values=values or {"role": member.role, "venue_ids": member.venue_ids},
            errors=errors or {},
            notice=notice,
            notice_ok=bool(notice),
        )
        response.headers.update(NO_STORE)
        return response

    def member_of(tenant_id: str, staff_id: str) -> StaffOut:
        with ctx.database.read() as session:
            return staff.staff_out(staff.get_staff(session, tenant_id, staff_id))

    @router.get("/admin/staff", response_class=HTMLResponse)
    def staff_page(request: Request) -> HTMLResponse:
        """The tenant's staff, and the form for a new member."""
        who, _ = admin(request)
        return list_page(request, who)

    @router.post("/admin/staff", response_model=None)
    def create_member(request: Request, form: kit.Form) -> Response:
        """Creates a staff member (`POST /api/v1/staff`) with a generated password, shown
        once on the answer."""
        kit.check_form(request, form)
        who, tenant_id = admin(request)
        role = form.get("role", "")
        values: dict[str, Any] = {
            "username": form.get("username", ""),
            "role": role,
            "venue_ids": _ticked(form),
        }
        password = new_password()
        try:
            body = StaffIn.model_validate(
                {
                    "username": values["username"].strip(),
                    "role": role,
                    "password": password,
                    "venue_ids": _venue_ids(form, role),
                }
            )
            with ctx.database.transaction() as session:
                created = staff.create_staff(ctx, session, tenant_id, body)
        except (ValidationError, AppError) as exc:
            status = exc.status if isinstance(exc, AppError) else 422
            return list_page(
                request, who, status=status, values=values, errors=problems(request, exc)
            )
        notice = kit.text(request, "The staff member is created.")
        return member_page(request, who, created, password=password, notice=notice)

    @router.get("/admin/staff/{staff_id}", response_class=HTMLResponse)
    def show_member(staff_id: str, request: Request) -> HTMLResponse:
        """A staff member's role and venues as a form, with disable and password reset."""
        who, tenant_id = admin(request)
        return member_page(request, who, member_of(tenant_id, staff_id))

    @router.post("/admin/staff/{staff_id}", response_model=None)
    def update_member(staff_id: str, request: Request, form: kit.Form) -> Response:
        """Changes a member's role and venues, or disables or enables them (`PATCH
        /api/v1/staff/{id}`)."""
        kit.check_form(request, form)
        who, tenant_id = admin(request)
        member = member_of(tenant_id, staff_id)
        body: dict[str, Any] = {}
        values: dict[str, Any] = {"role": member.role, "venue_ids": member.venue_ids}
        if form.get("disabled") in ("true", "false"):
            body["disabled"] = form["disabled"] == "true"
        else:
            role = form.get("role", "")
            values = {"role": role, "venue_ids": _ticked(form)}
            body = {"role": role, "venue_ids": _venue_ids(form, role)}
        try:
            patch = StaffPatch.model_validate(body)
            with ctx.database.transaction() as session:
                changed = staff.update_staff(ctx, session, tenant_id, staff_id, patch)
        except (ValidationError, AppError) as exc:
            status = exc.status if isinstance(exc, AppError) else 422
            errors = problems(request, exc)
            return member_page(request, who, member, status=status, values=values, errors=errors)
        notice = kit.text(request, "Saved.")
        return member_page(request, who, changed, notice=notice)

    @router.post("/admin/staff/{staff_id}/password", response_model=None)
    def reset_password(staff_id: str, request: Request, form: kit.Form) -> Response:
        """Gives a member a new generated password (`POST /api/v1/staff/{id}/password`),
        shown once; their sessions end."""
        kit.check_form(request, form)
        who, tenant_id = admin(request)
        password = new_password()
        with ctx.database.transaction() as session:
            changed = staff.reset_password(ctx, session, tenant_id, staff_id, password)
        notice = kit.text(request, "The password is reset; the member's sign-ins have ended.")
        return member_page(request, who, changed, password=password, notice=notice)

    return router
