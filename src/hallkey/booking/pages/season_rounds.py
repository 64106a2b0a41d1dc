"""Application rounds under `/admin/rounds`: the tenant's rounds and a form to open one, and a
round's overview per resource and weekday — the wishes, their clashes, the allocations, a
button to allocate a wish as wished or a reason to decline it, Publish, and the statistics.

Everything needs the `decide` scope (allocating halls is a case officer's decision), as the
API (`rounds_api`); each action calls that API's service (`rounds`, `rounds_desk`,
`rounds_publish`, `rounds_stats`) and redirects back with a notice; a form that does not pass
re-renders its page with the values kept and changes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from hallkey.booking import repository as repo
from hallkey.booking import rounds, rounds_desk, rounds_publish, rounds_stats, scopes
from hallkey.booking.api import write_transaction
from hallkey.booking.pages import desk_view, kit
from hallkey.booking.pages.season_pages import WEEKDAYS
from hallkey.booking.rounds_schemas import AllocationCreate, DeclineIn, RoundCreate
from hallkey.core.errors import AppError
from hallkey.core.pages.forms import MAX_FIELDS, MAX_FORM_BYTES

if TYPE_CHECKING:
    from hallkey.booking.context import BookingContext
    from hallkey.booking.tokens import Principal

ROUND_FIELDS = ("name", "period_from", "period_to", "deadline", "resource_ids")
ROUND_NOTICES = {
    "created": "The round is open for applications.",
    "allocated": "Allocated.",
    "declined": "Declined.",
    "published": "Published.",
}


async def resources_chosen(request: Request) -> list[str]:
    """Returns every checked `resource_ids` box of the round form (`read_form` keeps one
    value of a field; the body is read once and cached by the request)."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return []
    try:
        parsed = parse_qs(body.decode("utf-8", "replace"), max_num_fields=MAX_FIELDS)
    except ValueError:
        return []
    return parsed.get("resource_ids", [])


Chosen = Annotated[list[str], Depends(resources_chosen)]


def _errors(request: Request, error: ValidationError | AppError) -> dict[str, str]:
    return {
        name: kit.text(request, message)
        for name, message in kit.field_errors(request, error).items()
    }


def list_view(
    ctx: BookingContext,
    request: Request,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    chosen: list[str] | None = None,
) -> HTMLResponse:
    """Renders the tenant's rounds and the form to open one (its errors and values kept)."""
    with ctx.database.read() as session:
        who = kit.visitor(ctx, session, request)
        principal = kit.require_staff(who, scopes.DECIDE)
        listed = rounds.list_rounds(session, principal.tenant_id, ctx.clock.now())
        found = desk_view.places(session, principal)
        tenant = repo.tenant(session, principal.tenant_id)
        zone = tenant.timezone if tenant is not None else desk_view.DEFAULT_ZONE
    done = request.query_params.get("done", "")
    return kit.render(
        request,
        "admin/season/rounds.html",
        who,
        status=status,
        rounds=listed,
        places=found,
        zone=zone,
        errors=errors or {},
        values={name: "" for name in ROUND_FIELDS} | (values or {}),
        chosen=set(chosen or []),
        notice=kit.text(request, ROUND_NOTICES[done]) if done in ROUND_NOTICES else "",
        notice_ok=True,
    )


def round_view(
    ctx: BookingContext,
    request: Request,
    round_id: str,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    reasons: dict[str, str] | None = None,
) -> HTMLResponse:
    """Renders a round's overview, allocations and statistics (errors by wish id)."""
    with ctx.database.read() as session:
        who = kit.visitor(ctx, session, request)
        principal = kit.require_staff(who, scopes.DECIDE)
        round_ = rounds.get_round(session, principal.tenant_id, round_id)
        overview = rounds_desk.overview(ctx, session, round_)
        stats = rounds_stats.statistics(session, round_, rounds_publish.series_minutes)
        tenant = repo.tenant(session, principal.tenant_id)
        zone = tenant.timezone if tenant is not None else desk_view.DEFAULT_ZONE
    organisations = {
        w.id: w.organisation for r in overview.resources for d in r.weekdays for w in d.wishes
    }
    done = request.query_params.get("done", "")
    return kit.render(
        request,
        "admin/season/round.html",
        who,
        status=status,
        o=overview,
        stats=stats,
        zone=zone,
        days={n: kit.text(request, name) for n, name in WEEKDAYS.items()},
        organisations=organisations,
        errors=errors or {},
        reasons=reasons or {},
        notice=kit.text(request, ROUND_NOTICES[done]) if done in ROUND_NOTICES else "",
        notice_ok=True,
    )


def _back(round_id: str, done: str) -> Response:
    return kit.see_other(f"/admin/rounds/{round_id}?" + urlencode({"done": done}))


def build_router(ctx: BookingContext) -> APIRouter:
    """Returns the router of the rounds' pages and their actions."""
    router = APIRouter(route_class=kit.PageRoute, include_in_schema=False)
    base = "/admin/rounds/{round_id}"

    def officer(request: Request, form: dict[str, str]) -> Principal:
        kit.check_form(request, form)
        return kit.signed_in_staff(ctx, request, scopes.DECIDE)[1]

    @router.get("/admin/rounds", response_class=HTMLResponse)
    def rounds_page(request: Request) -> HTMLResponse:
        """The tenant's rounds, the latest deadline first, and a form to open one."""
        return list_view(ctx, request)

    @router.post("/admin/rounds", response_model=None)
    def create(request: Request, form: kit.Form, chosen: Chosen) -> Response:
        """Opens a round (as `POST /api/v1/rounds`); the deadline is on the tenant's clock."""
        principal = officer(request, form)
        kept = {name: form.get(name, "").strip() for name in ROUND_FIELDS}
        try:
            with ctx.database.read() as session:
                tenant = repo.tenant(session, principal.tenant_id)
                zone = tenant.timezone if tenant is not None else desk_view.DEFAULT_ZONE
            day, _, clock = kept["deadline"].partition("T")
            deadline = desk_view.local_moment(day, clock, zone, "deadline")
            body = RoundCreate.model_validate(
                {
                    "name": kept["name"],
                    "period_from": kept["period_from"],
                    "period_to": kept["period_to"],
                    "resource_ids": chosen,
                    "deadline": deadline,
                }
            )
            with write_transaction(ctx) as session:
                made = rounds.create_round(ctx, session, principal.tenant_id, body, principal.actor)
        except (ValidationError, AppError) as exc:
            if isinstance(exc, AppError) and exc.status not in (409, 422):
                raise
            errors = _errors(request, exc)
            if "date" in errors:  # local_moment names a bad date `date`
                errors["deadline"] = errors.pop("date")
            if "" in errors or not set(errors) <= set(ROUND_FIELDS):
                errors = {"name": " ".join(errors.values())}
            status = exc.status if isinstance(exc, AppError) else 422
            return list_view(ctx, request, status=status, errors=errors, values=kept, chosen=chosen)
        return kit.see_other(f"/admin/rounds/{made.id}?done=created")

    @router.get(base, response_class=HTMLResponse)
    def round_page(round_id: str, request: Request) -> HTMLResponse:
        """A round's overview per resource and weekday, its allocations and statistics."""
        return round_view(ctx, request, round_id)

    @router.post(f"{base}/allocate", response_model=None)
    def allocate(round_id: str, request: Request, form: kit.Form) -> Response:
        """Allocates a wish the slot it wished (as `POST …/allocations` with its wish)."""
        principal = officer(request, form)
        wish_id = form.get("wish_id", "")
        try:
            body = AllocationCreate(wish_id=wish_id)
            with write_transaction(ctx) as session:
                rounds_desk.allocate(
                    ctx, session, principal.tenant_id, round_id, body, principal.actor
                )
        except (ValidationError, AppError) as exc:
            if isinstance(exc, AppError) and exc.status not in (409, 422):
                raise
            problem = " ".join(_errors(request, exc).values())
            status = exc.status if isinstance(exc, AppError) else 422
            return round_view(ctx, request, round_id, status=status, errors={wish_id: problem})
        return _back(round_id, "allocated")

    @router.post(f"{base}/wishes/{{wish_id}}/decline", response_model=None)
    def decline(round_id: str, wish_id: str, request: Request, form: kit.Form) -> Response:
        """Declines a wish with the reason the applicant is told (a reason is required)."""
        principal = officer(request, form)
        reason = form.get("reason", "").strip()
        try:
            body = DeclineIn(reason=reason)
            with write_transaction(ctx) as session:
                rounds_desk.decline(
                    ctx,
                    session,
                    principal.tenant_id,
                    round_id,
                    wish_id,
                    body.reason,
                    principal.actor,
                )
        except (ValidationError, AppError) as exc:
            if isinstance(exc, AppError) and exc.status not in (409, 422):
                raise
            problem = " ".join(_errors(request, exc).values())
            if not reason:
                problem = kit.text(request, "Write the reason the applicant will be told.")
            status = exc.status if isinstance(exc, AppError) else 422
            return round_view(
                ctx,
                request,
                round_id,
                status=status,
                errors={wish_id: problem},
                reasons={wish_id: reason},
            )
        return _back(round_id, "declined")

    @router.post(f"{base}/publish", response_model=None)
    def publish(round_id: str, request: Request, form: kit.Form) -> Response:
        """Publishes the round: every allocation becomes a confirmed series (as the API)."""
        principal = officer(request, form)
        try:
            rounds_publish.publish(ctx, principal.tenant_id, round_id, principal.actor)
        except AppError as exc:
            if exc.status != 409:
                raise
            problem = " ".join(_errors(request, exc).values())
            return round_view(ctx, request, round_id, status=409, errors={"publish": problem})
        return _back(round_id, "published")

    return router
