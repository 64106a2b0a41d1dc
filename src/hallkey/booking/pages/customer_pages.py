"""The customers under `/admin/customers` (scope `customers`, as the API's): a search, a
customer's page (record, contact persons, reservations), the export as a JSON download (the
API's export, byte for byte the same model) and erasure after a confirmation step (the API's
erase service, then the database's scrub, as the API does)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from hallkey.booking import customer_records, customers, desk, scopes
from hallkey.booking import office_repository as office_repo
from hallkey.booking.api import write_transaction
from hallkey.booking.pages import desk_pages, desk_view, kit
from hallkey.core.errors import AppError

if TYPE_CHECKING:
    from hallkey.booking.context import BookingContext

Text = Annotated[str, Query(max_length=200)]
Cursor = Annotated[str, Query(max_length=400)]


def build_router(ctx: BookingContext) -> APIRouter:
    """Returns the router of the customer pages."""
    router = APIRouter(route_class=kit.PageRoute, include_in_schema=False)

    @router.get("/admin/customers", response_class=HTMLResponse)
    def search(request: Request, q: Text = "", cursor: Cursor = "") -> HTMLResponse:
        """Finds customers by e-mail, name or organisation (all of them, by id, when empty)."""
        with ctx.database.read() as session:
            who = kit.visitor(ctx, session, request)
            principal = kit.require_staff(who, scopes.CUSTOMERS)
            where = office_repo.CustomerFilter(
                tenant_id=principal.tenant_id, text=q.strip() or None
            )
            page = customer_records.search_customers(
                session, where, cursor=cursor or None, limit=desk_pages.PAGE_SIZE
            )
        more = None
        if page.next_cursor:
            more = "/admin/customers?" + _query(q=q, cursor=page.next_cursor)
        return kit.render(
            request, "admin/desk/customers.html", who, q=q, items=page.items, more=more
        )

    def customer_view(
        request: Request,
        customer_id: str,
        template: str,
        *,
        cursor: str = "",
        status: int = 200,
        error: str = "",
    ) -> HTMLResponse:
        with ctx.database.read() as session:
            who = kit.visitor(ctx, session, request)
            principal = kit.require_staff(who, scopes.CUSTOMERS)
            record = customer_records.get_customer(session, principal.tenant_id, customer_id)
            where = office_repo.ReservationFilter(
                tenant_id=principal.tenant_id, customer_id=customer_id
            )
            page = desk.list_reservations(
                session, principal, where, cursor=cursor or None, limit=desk_pages.PAGE_SIZE
            )
            found = desk_view.places(session, principal, *{item.resource_id for item in page.items})
            listed = desk_pages.rows(session, page.items, found)
            said = desk_view.notice(request, session, principal)
        more = None
        if page.next_cursor:
            more = f"/admin/customers/{customer_id}?" + _query(cursor=page.next_cursor)
        return kit.render(
            request,
            template,
            who,
            status=status,
            c=record,
            rows=listed,
            more=more,
            error=error,
            notice=said,
            notice_ok=True,
        )

    @router.get("/admin/customers/{customer_id}", response_class=HTMLResponse)
    def customer_page(request: Request, customer_id: str, cursor: Cursor = "") -> HTMLResponse:
        """A customer's record, contact persons and reservations."""
        return customer_view(request, customer_id, "admin/desk/customer.html", cursor=cursor)

    @router.get("/admin/customers/{customer_id}/export", response_model=None)
    def export(request: Request, customer_id: str) -> Response:
        """Everything stored about the customer, as `GET /api/v1/customers/{id}` answers, as
        a file to download."""
        with ctx.database.read() as session:
            principal = kit.require_staff(kit.visitor(ctx, session, request), scopes.CUSTOMERS)
            data = customers.export_customer(session, principal.tenant_id, customer_id)
        return Response(
            data.model_dump_json(indent=2),
            media_type="application/json",
            headers={
                "content-disposition": f'attachment; filename="{customer_id}.json"',
                "cache-control": "no-store",
            },
        )

    @router.get("/admin/customers/{customer_id}/erase", response_class=HTMLResponse)
    def erase_form(request: Request, customer_id: str) -> HTMLResponse:
        """The confirmation step: what erasure removes and what it keeps."""
        return customer_view(request, customer_id, "admin/desk/erase.html")

    @router.post("/admin/customers/{customer_id}/erase", response_model=None)
    def erase(request: Request, customer_id: str, form: kit.Form) -> Response:
        """Erases the customer's personal data (as `POST /api/v1/customers/{id}/erase`)."""
        kit.check_form(request, form)
        with ctx.database.read() as session:
            principal = kit.require_staff(kit.visitor(ctx, session, request), scopes.CUSTOMERS)
        try:
            with write_transaction(ctx) as session:
                customers.erase_customer(ctx, session, principal.tenant_id, customer_id)
        except AppError as exc:
            if exc.status != 409:
                raise
            message = kit.text(
                request, "The customer has reservations that are not over. Cancel them first."
            )
            return customer_view(
                request, customer_id, "admin/desk/erase.html", status=409, error=message
            )
        ctx.database.scrub()  # the WAL still holds the erased rows' old pages
        return kit.see_other(f"/admin/customers/{customer_id}?done=erased")

    return router


def _query(**values: str) -> str:
    return urlencode({key: value for key, value in values.items() if value})
