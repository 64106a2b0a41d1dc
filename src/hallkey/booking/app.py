"""The booking context as a part of a web process."""

from __future__ import annotations

from hallkey.booking import office_api, pages, setup_api, staff_api, usage_api
from hallkey.booking.api import build_routers
from hallkey.booking.context import BookingContext
from hallkey.core.web import ContextPart, database_part


def build_part(ctx: BookingContext) -> ContextPart:
    """Returns the context's routers, worker, health check and shutdown for a web process."""
    return database_part(
        name="booking",
        title="hallkey booking",
        openapi_path="/api/openapi.json",
        routers=[
            *build_routers(ctx),
            *setup_api.build_routers(ctx),
            *staff_api.build_routers(ctx),
            *office_api.build_routers(ctx),
            *usage_api.build_routers(ctx),
            *pages.build_routers(ctx),
        ],
        database=ctx.database,
        worker=ctx.worker,
        close=ctx.close,
    )
