"""An admin's set-up pages for venues and resources: `/admin/resources` (venues with their
resources, a new venue, a new resource), `/admin/venues/{id}` (a venue's name, address, time
zone) and `/admin/resources/{id}` (a resource's rules as a form).

Each form builds the body the set-up API takes (`VenueIn`, `VenuePatch`, `ResourceIn`,
`ResourcePatch`) and calls the same `setup` service, with the API's scope (`setup`); a form the
API would refuse re-renders with its values kept and the message next to the field.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from hallkey.booking import scopes, venue_setup
from hallkey.booking.domain import WEEKDAYS
from hallkey.booking.pages import kit, setup_forms
from hallkey.booking.setup_schemas import (
    ResourceIn,
    ResourcePatch,
    ResourceSetupOut,
    VenueIn,
    VenueOut,
    VenuePatch,
)
from hallkey.core.errors import AppError, NotFound

if TYPE_CHECKING:
    from hallkey.booking.context import BookingContext

WEEKDAY_NAMES = {
    "mon": "Monday",
    "tue": "Tuesday",
    "wed": "Wednesday",
    "thu": "Thursday",
    "fri": "Friday",
    "sat": "Saturday",
    "sun": "Sunday",
}
CREDENTIALS = {"pin": "PIN code", "mobile_key": "Mobile key", "url_key": "URL key", "sms": "SMS"}
OPERATIONS = {"code": "A key for the guest", "unlock": "Doors unlocked (public event)"}


def translated(request: Request, errors: dict[str, str]) -> dict[str, str]:
    """Returns field errors with this module's and the forms' own messages translated."""
    return {name: kit.text(request, message) for name, message in errors.items()}


def problems(request: Request, error: ValidationError | AppError) -> dict[str, str]:
    """Returns a refused body's messages by form field: the API's field names, a list's item
    (`closed_periods.0.from`, `door_ids.1`) named by its list, as the form shows it whole."""
    found: dict[str, str] = {}
    for name, message in kit.field_errors(request, error).items():
        parts = name.split(".")
        cut = next((i for i, part in enumerate(parts) if part.isdigit()), len(parts))
        # A service's message is English; the catalog holds those the set-up forms meet.
        found.setdefault(".".join(parts[:cut]), kit.text(request, message))
    return found


def build_router(ctx: BookingContext) -> APIRouter:
    """Returns the router of the venue and resource set-up pages."""
    router = APIRouter(route_class=kit.PageRoute, include_in_schema=False)

    def admin(request: Request) -> tuple[kit.Visitor, str]:
        who, principal = kit.signed_in_staff(ctx, request, scopes.SETUP)
        return who, principal.tenant_id

    def venues_of(tenant_id: str) -> list[VenueOut]:
        with ctx.database.read() as session:
            return venue_setup.list_venues(session, tenant_id)

    def resource_of(tenant_id: str, resource_id: str) -> tuple[VenueOut, ResourceSetupOut]:
        for venue in venues_of(tenant_id):
            for resource in venue.resources:
                if resource.id == resource_id:
                    return venue, resource
        raise NotFound("unknown resource", field="resource_id")

    def list_page(
        request: Request,
        who: kit.Visitor,
        *,
        status: int = 200,
        venue_values: dict[str, str] | None = None,
        venue_errors: dict[str, str] | None = None,
        resource_values: dict[str, str] | None = None,
        resource_errors: dict[str, str] | None = None,
    ) -> HTMLResponse:
        return kit.render(
            request,
            "admin/setup/resources.html",
            who,
            status=status,
            venues=venues_of(who.tenant_id),
            venue_values=venue_values or {},
            venue_errors=venue_errors or {},
            resource_values=resource_values or {},
            resource_errors=resource_errors or {},
            credentials=CREDENTIALS,
        )

    @router.get("/admin/resources", response_class=HTMLResponse)
    def resources_page(request: Request) -> HTMLResponse:
        """Venues with their resources and rules at a glance, and forms for new ones."""
        who, _ = admin(request)
        return list_page(request, who)

    @router.post("/admin/venues", response_model=None)
    def create_venue(request: Request, form: kit.Form) -> Response:
        """Creates a venue (`POST /api/v1/venues`)."""
        kit.check_form(request, form)
        who, tenant_id = admin(request)
        values = {k: form.get(k, "") for k in ("name", "address", "timezone")}
        try:
            body = VenueIn.model_validate(
                {
                    "name": values["name"],
                    "address": values["address"].strip(),
                    "timezone": values["timezone"].strip() or None,
                }
            )
            with ctx.database.transaction() as session:
                venue_setup.create_venue(ctx, session, tenant_id, body)
        except (ValidationError, AppError) as exc:
            errors = problems(request, exc)
            return list_page(
                request, who, status=_status(exc), venue_values=values, venue_errors=errors
            )
        return kit.see_other("/admin/resources")

    @router.post("/admin/resources", response_model=None)
    def create_resource(request: Request, form: kit.Form) -> Response:
        """Creates a resource of a venue (`POST /api/v1/resources`) with the default rules;
        its page then sets them."""
        kit.check_form(request, form)
        who, tenant_id = admin(request)
        values = {k: form.get(k, "") for k in ("venue_id", "name", "door_ids", "credential")}
        try:
            body = ResourceIn.model_validate(
                {
                    "venue_id": values["venue_id"],
                    "name": values["name"],
                    "door_ids": setup_forms.parse_doors(values["door_ids"]),
                    "credential": values["credential"] or "pin",
                }
            )
            with ctx.database.transaction() as session:
                created = venue_setup.create_resource(ctx, session, tenant_id, body)
        except (ValidationError, AppError) as exc:
            errors = problems(request, exc)
            return list_page(
                request, who, status=_status(exc), resource_values=values, resource_errors=errors
            )
        return kit.see_other(f"/admin/resources/{created.id}")

    def venue_page(
        request: Request,
        who: kit.Visitor,
        venue: VenueOut,
        values: dict[str, str],
        errors: dict[str, str],
        status: int = 200,
    ) -> HTMLResponse:
        return kit.render(
            request,
            "admin/setup/venue.html",
            who,
            status=status,
            venue=venue,
            values=values,
            errors=errors,
        )

    def venue_of(tenant_id: str, venue_id: str) -> VenueOut:
        for venue in venues_of(tenant_id):
            if venue.id == venue_id:
                return venue
        raise NotFound("unknown venue", field="venue_id")

    @router.get("/admin/venues/{venue_id}", response_class=HTMLResponse)
    def show_venue(venue_id: str, request: Request) -> HTMLResponse:
        """A venue's name, address and time zone as a form."""
        who, tenant_id = admin(request)
        venue = venue_of(tenant_id, venue_id)
        values = {"name": venue.name, "address": venue.address, "timezone": venue.timezone}
        return venue_page(request, who, venue, values, {})

    @router.post("/admin/venues/{venue_id}", response_model=None)
    def update_venue(venue_id: str, request: Request, form: kit.Form) -> Response:
        """Changes a venue (`PATCH /api/v1/venues/{id}`)."""
        kit.check_form(request, form)
        who, tenant_id = admin(request)
        venue = venue_of(tenant_id, venue_id)
        values = {k: form.get(k, "") for k in ("name", "address", "timezone")}
        try:
            body = VenuePatch.model_validate(
                {
                    "name": values["name"],
                    "address": values["address"].strip(),
                    "timezone": values["timezone"].strip(),
                }
            )
            with ctx.database.transaction() as session:
                venue_setup.update_venue(ctx, session, tenant_id, venue_id, body)
        except (ValidationError, AppError) as exc:
            return venue_page(request, who, venue, values, problems(request, exc), _status(exc))
        return kit.see_other("/admin/resources")

    def rules_page(
        request: Request,
        who: kit.Visitor,
        venue: VenueOut,
        resource: ResourceSetupOut,
        values: dict[str, str],
        errors: dict[str, str],
        *,
        status: int = 200,
        saved: bool = False,
    ) -> HTMLResponse:
        return kit.render(
            request,
            "admin/setup/resource.html",
            who,
            status=status,
            venue=venue,
            resource=resource,
            values=values,
            errors=errors,
            weekdays=[(day, WEEKDAY_NAMES[day]) for day in WEEKDAYS],
            credentials=CREDENTIALS,
            operations=OPERATIONS,
            notice=kit.text(request, "Saved.") if saved else "",
            notice_ok=saved,
        )

    @router.get("/admin/resources/{resource_id}", response_class=HTMLResponse)
    def show_resource(resource_id: str, request: Request, saved: str = "") -> HTMLResponse:
        """A resource's rules as a form."""
        who, tenant_id = admin(request)
        venue, resource = resource_of(tenant_id, resource_id)
        values = setup_forms.rule_values(resource)
        return rules_page(request, who, venue, resource, values, {}, saved=saved == "1")

    @router.post("/admin/resources/{resource_id}", response_model=None)
    def update_resource(resource_id: str, request: Request, form: kit.Form) -> Response:
        """Changes a resource's rules (`PATCH /api/v1/resources/{id}`); nothing changes when
        one is refused."""
        kit.check_form(request, form)
        who, tenant_id = admin(request)
        venue, resource = resource_of(tenant_id, resource_id)
        errors: dict[str, str] = {}
        body = setup_forms.rule_body(form, errors)
        values = {name: str(value) for name, value in form.items() if name != "csrf"}
        if errors:
            return rules_page(
                request, who, venue, resource, values, translated(request, errors), status=422
            )
        try:
            patch = ResourcePatch.model_validate(body)
            with ctx.database.transaction() as session:
                venue_setup.update_resource(ctx, session, tenant_id, resource_id, patch)
        except (ValidationError, AppError) as exc:
            found = problems(request, exc)
            return rules_page(request, who, venue, resource, values, found, status=_status(exc))
        return kit.see_other(f"/admin/resources/{resource_id}?saved=1")

    return router


def _status(error: ValidationError | AppError) -> int:
    return error.status if isinstance(error, AppError) else 422
