"""The booking context as a part of a web process."""

from __future__ import annotations

from sqlalchemy import text

from hallkey.booking.api import build_routers
from hallkey.booking.context import BookingContext
from hallkey.core.web import ContextPart


def build_part(ctx: BookingContext) -> ContextPart:
    """Returns the booking context's routers, worker, health check and shutdown."""

    def healthy() -> bool:
        with ctx.database.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True

    return ContextPart(
        name="booking",
        title="hallkey booking",
        openapi_path="/api/openapi.json",
        routers=build_routers(ctx),
        workers=[ctx.worker],
        healthy=healthy,
        close=ctx.close,
    )
