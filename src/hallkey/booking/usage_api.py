"""Usage and no-shows, the accounts export and the calendar feeds, under `/api/v1`.

Staff endpoints name their scope (`x-required-scope`); the resource calendar is public (its
tenant from the host, as `public.py` finds it), a customer's feed is reached by its secret
token (unknown tokens are throttled per address), and `/me/calendar-feed` takes the customer's
session cookie.
"""

from __future__ import annotations

from datetime import datetime
from email.utils import format_datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response, Security
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session

from hallkey.booking import accounts, calendars, callers, public, scopes, sign_in, tokens, usage
from hallkey.booking.accounts_schemas import AccountsOut
from hallkey.booking.api import TENANT_QUERY, needs, write_transaction
from hallkey.booking.context import BookingContext
from hallkey.booking.usage_schemas import UsageOut
from hallkey.core.errors import NotFound
from hallkey.core.schemas import ERROR_RESPONSES, UtcDatetime
from hallkey.core.throttle import Rate, Throttle

CUSTOMER_SESSION = {"x-customer-session": True}
FEED_GUESSES_PER_ADDRESS = Rate(limit=20, per_seconds=15 * 60)
ICS = "text/calendar; charset=utf-8"
ICS_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/calendar": {}}},
    304: {"description": "not modified"},
}


class CalendarFeedOut(BaseModel):
    """The secret URL of a customer's calendar feed, shown once (a new one replaces it)."""

    url: str
    created_at: datetime


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _ics(request: Request, feed: calendars.Feed, cache: str) -> Response:
    headers = {"ETag": feed.etag, "Cache-Control": cache}
    if feed.last_modified is not None:
        headers["Last-Modified"] = format_datetime(feed.last_modified, usegmt=True)
    if request.headers.get("if-none-match") == feed.etag:
        return Response(status_code=304, headers=headers)
    return Response(feed.body, media_type=ICS, headers=headers)


def build_routers(ctx: BookingContext) -> list[APIRouter]:
    """Returns the routers of usage, accounts and calendars."""
    token = callers.request_key(
        ctx, tokens.verify, scheme_name="bookingToken", description="API token or sign-in"
    )
    staff = APIRouter(
        prefix="/api/v1",
        tags=["booking"],
        responses=ERROR_RESPONSES,
        dependencies=[Security(token)],
    )
    open_router = APIRouter(prefix="/api/v1", tags=["booking"], responses=ERROR_RESPONSES)
    guesses = Throttle("calendar feed guesses per address", FEED_GUESSES_PER_ADDRESS, ctx.clock)

    def principal_of(request: Request, session: Session, scope: str) -> tokens.Principal:
        return callers.principal_of(ctx, session, request, scope)

    @staff.get("/usage", response_model=UsageOut, openapi_extra=needs(scopes.RESERVATIONS_READ))
    def usage_report(
        request: Request,
        venue: Annotated[str, Query(min_length=1, max_length=40)],
        from_: Annotated[UtcDatetime, Query(alias="from")],
        to: Annotated[UtcDatetime, Query()],
    ) -> UsageOut:
        """Tells, per resource and in total, how many confirmed bookings starting in the
        period were used, not used (no-shows) or not yet known, with their hours, and lists
        the no-shows (the customer only for callers who may see customers)."""
        with ctx.database.read() as session:
            principal = principal_of(request, session, scopes.RESERVATIONS_READ)
            return usage.usage_report(
                session,
                tenant_id=principal.tenant_id,
                venue_ids=principal.venue_ids,
                venue_id=venue,
                start=from_,
                end=to,
                now=ctx.clock.now(),
                with_customers=scopes.allows(principal.scopes, scopes.CUSTOMERS),
            )

    @staff.get(
        "/accounts",
        response_model=AccountsOut,
        openapi_extra=needs(scopes.ACCOUNTS),
        responses={200: {"content": {"text/csv": {}}}},
    )
    def accounts_export(
        request: Request,
        from_: Annotated[UtcDatetime, Query(alias="from")],
        to: Annotated[UtcDatetime, Query()],
        format: Annotated[Literal["json", "csv"], Query()] = "json",
    ) -> AccountsOut | Response:
        """Lists every billable reservation starting in the period (confirmed, and cancelled
        ones charged), with customer, price group, hours and øre, and the totals; `csv` for a
        spreadsheet (`;`, decimal comma, kroner)."""
        accounts.check_period(from_, to)
        tenant_id = callers.principal_first(ctx, request, scopes.ACCOUNTS).tenant_id
        items = accounts.rows(ctx.database.read, tenant_id, from_, to)
        if format == "json":
            return accounts.as_json(items, from_, to)
        name = f"accounts-{from_:%Y%m%d}-{to:%Y%m%d}.csv"
        return StreamingResponse(
            accounts.as_csv(items),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    @open_router.get(
        "/resources/{resource_id}/calendar.ics", response_class=Response, responses=ICS_RESPONSE
    )
    def resource_calendar(
        resource_id: str,
        request: Request,
        tenant: str | None = TENANT_QUERY,
        lang: Annotated[Literal["nb", "en"], Query()] = "nb",
    ) -> Response:
        """Returns the resource's taken time as iCalendar (public: "Opptatt"/"Busy", never
        who), from a month ago to a year ahead; cancelled bookings as STATUS:CANCELLED."""
        with ctx.database.read() as session:
            tenant_id = public.resolve_tenant(session, request.headers.get("host"), tenant)
            feed = calendars.resource_feed(ctx, session, tenant_id, resource_id, lang)
        return _ics(request, feed, "public, max-age=300")

    @open_router.get("/calendar/{feed_token}.ics", response_class=Response, responses=ICS_RESPONSE)
    def customer_calendar(feed_token: str, request: Request) -> Response:
        """Returns a customer's own bookings as iCalendar, for the secret token of their feed;
        unknown tokens are throttled per address (429)."""
        address = _address(request)
        guesses.check(address)
        with ctx.database.read() as session:
            found = calendars.feed_by_token(session, feed_token)
            if found is None:
                guesses.hit(address)
                raise NotFound("unknown calendar feed")
            feed = calendars.customer_feed(ctx, session, found)
        return _ics(request, feed, "private, max-age=300")

    @open_router.post(
        "/me/calendar-feed",
        status_code=201,
        response_model=CalendarFeedOut,
        openapi_extra=CUSTOMER_SESSION,
    )
    def my_calendar_feed(request: Request) -> CalendarFeedOut:
        """Makes the signed-in customer's secret feed URL (shown once; the old one stops)."""
        with write_transaction(ctx) as session:
            who, _ = sign_in.signed_in(ctx, session, request.cookies.get(sign_in.COOKIE))
            secret, feed = calendars.issue_feed(ctx, session, who.tenant_id, who.id, "customer")
            return CalendarFeedOut(
                url=calendars.feed_url(ctx, session, who.tenant_id, secret),
                created_at=feed.created_at,
            )

    @staff.post(
        "/customers/{customer_id}/calendar-feed",
        status_code=201,
        response_model=CalendarFeedOut,
        openapi_extra=needs(scopes.CUSTOMERS),
    )
    def customer_calendar_feed(customer_id: str, request: Request) -> CalendarFeedOut:
        """Makes a customer's secret feed URL for them (shown once; the old one stops)."""
        with write_transaction(ctx) as session:
            principal = principal_of(request, session, scopes.CUSTOMERS)
            secret, feed = calendars.issue_feed(
                ctx, session, principal.tenant_id, customer_id, principal.actor
            )
            return CalendarFeedOut(
                url=calendars.feed_url(ctx, session, principal.tenant_id, secret),
                created_at=feed.created_at,
            )

    return [staff, open_router]
