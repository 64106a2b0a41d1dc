"""An admin's `/admin/prices`: the tenant's price groups (list, add, rename, approval) and each
resource's price per group.

The forms build the API's bodies (`PriceGroupIn`, `PriceGroupPatch`, and a `ResourcePatch`
holding only `prices`, which replaces all of a resource's prices as the API does) and call
the same services (`price_groups`, `venue_setup.update_resource`) with the `setup` scope.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from hallkey.booking import price_groups, pricing, scopes, venue_setup
from hallkey.booking.office_schemas import PriceGroupIn, PriceGroupPatch
from hallkey.booking.pages import kit, setup_forms
from hallkey.booking.pages.setup_pages import problems, translated
from hallkey.booking.setup_schemas import ResourcePatch
from hallkey.core.errors import AppError, NotFound

if TYPE_CHECKING:
    from hallkey.booking.context import BookingContext

UNITS = {"hour": "per hour", "fixed": "per booking"}


@dataclass
class Failed:
    """The one form of the page that was refused: its values and errors by field."""

    form: str = ""
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def _price_errors(
    request: Request, error: ValidationError | AppError, groups: list[str]
) -> dict[str, str]:
    """Returns a refused price list's messages by the form's fields (`prices.0.vat_rate` is
    `price.<group>.vat_rate` of the form's n-th filled row)."""
    if isinstance(error, AppError):
        return {error.field or "": error.message}
    found: dict[str, str] = {}
    for name, message in kit.field_errors(request, error).items():
        parts = name.split(".")
        if len(parts) >= 3 and parts[0] == "prices" and parts[1].isdigit():
            index = int(parts[1])
            if index < len(groups):
                found.setdefault(f"price.{groups[index]}.{parts[2]}", message)
                continue
        found.setdefault("", message)
    return found


def build_router(ctx: BookingContext) -> APIRouter:
    """Returns the router of the price pages."""
    router = APIRouter(route_class=kit.PageRoute, include_in_schema=False)

    def admin(request: Request) -> tuple[kit.Visitor, str]:
        who, principal = kit.signed_in_staff(ctx, request, scopes.SETUP)
        return who, principal.tenant_id

    def page(
        request: Request, who: kit.Visitor, failed: Failed | None = None, status: int = 200
    ) -> HTMLResponse:
        with ctx.database.read() as session:
            groups = price_groups.list_groups(session, who.tenant_id)
            venues = venue_setup.list_venues(session, who.tenant_id)
        keys = [group.key for group in groups]
        for venue in venues:
            for resource in venue.resources:
                keys += [p.group for p in resource.prices if p.group not in keys]
        keys = keys or [pricing.DEFAULT_GROUP]
        values = {
            resource.id: setup_forms.price_values(resource.prices)
            for venue in venues
            for resource in venue.resources
        }
        failed = failed or Failed()
        if failed.form.startswith("resource-"):
            values[failed.form.removeprefix("resource-")] = failed.values
        return kit.render(
            request,
            "admin/setup/prices.html",
            who,
            status=status,
            groups=groups,
            names={group.key: group.name for group in groups},
            keys=keys,
            venues=venues,
            values=values,
            failed=failed,
            units=UNITS,
        )

    @router.get("/admin/prices", response_class=HTMLResponse)
    def prices_page(request: Request) -> HTMLResponse:
        """Price groups and every resource's prices."""
        who, _ = admin(request)
        return page(request, who)

    @router.post("/admin/price-groups", response_model=None)
    def create_group(request: Request, form: kit.Form) -> Response:
        """Adds a price group (`POST /api/v1/price-groups`)."""
        kit.check_form(request, form)
        who, tenant_id = admin(request)
        values = {k: form.get(k, "") for k in ("key", "name", "requires_approval")}
        try:
            body = PriceGroupIn.model_validate(
                {
                    "key": values["key"].strip(),
                    "name": values["name"],
                    "requires_approval": values["requires_approval"] == "on",
                }
            )
            with ctx.database.transaction() as session:
                price_groups.create_group(ctx, session, tenant_id, body)
        except (ValidationError, AppError) as exc:
            failed = Failed("group-new", values, problems(request, exc))
            return page(request, who, failed, exc.status if isinstance(exc, AppError) else 422)
        return kit.see_other("/admin/prices")

    @router.post("/admin/price-groups/{key}", response_model=None)
    def update_group(key: str, request: Request, form: kit.Form) -> Response:
        """Renames a price group or changes its approval (`PATCH /api/v1/price-groups/{key}`)."""
        kit.check_form(request, form)
        who, tenant_id = admin(request)
        values = {k: form.get(k, "") for k in ("name", "requires_approval")}
        try:
            body = PriceGroupPatch.model_validate(
                {"name": values["name"], "requires_approval": values["requires_approval"] == "on"}
            )
            with ctx.database.transaction() as session:
                price_groups.update_group(ctx, session, tenant_id, key, body)
        except (ValidationError, AppError) as exc:
            failed = Failed(f"group-{key}", values, problems(request, exc))
            return page(request, who, failed, exc.status if isinstance(exc, AppError) else 422)
        return kit.see_other("/admin/prices")

    @router.post("/admin/prices/{resource_id}", response_model=None)
    def set_prices(resource_id: str, request: Request, form: kit.Form) -> Response:
        """Sets a resource's prices, all at once (`PATCH /api/v1/resources/{id}` with
        `prices`); an empty amount removes that group's price."""
        kit.check_form(request, form)
        who, tenant_id = admin(request)
        groups = [name.split(".")[1] for name in form if name.startswith("price.")]
        groups = sorted(set(groups), key=groups.index)
        values = {name: value for name, value in form.items() if name.startswith("price.")}
        errors: dict[str, str] = {}
        body = setup_forms.price_body(form, groups, errors)
        failed_form = f"resource-{resource_id}"
        if errors:
            failed = Failed(failed_form, values, translated(request, errors))
            return page(request, who, failed, 422)
        try:
            patch = ResourcePatch.model_validate({"prices": body})
            with ctx.database.transaction() as session:
                venue_setup.update_resource(ctx, session, tenant_id, resource_id, patch)
        except NotFound:
            raise
        except (ValidationError, AppError) as exc:
            filled = [str(price["group"]) for price in body]
            failed = Failed(failed_form, values, _price_errors(request, exc, filled))
            return page(request, who, failed, exc.status if isinstance(exc, AppError) else 422)
        return kit.see_other(f"/admin/prices#resource-{resource_id}")

    return router
