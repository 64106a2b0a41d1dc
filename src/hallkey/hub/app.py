"""The hub as a part of a web process."""

from __future__ import annotations

from sqlalchemy import text

from hallkey.core.web import ContextPart
from hallkey.hub.api import build_routers
from hallkey.hub.context import HubContext


def build_part(ctx: HubContext) -> ContextPart:
    """Returns the hub's routers, worker, health check and shutdown for a web process."""

    def healthy() -> bool:
        with ctx.database.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True

    return ContextPart(
        name="hub",
        title="hallkey hub",
        openapi_path="/hub/openapi.json",
        routers=build_routers(ctx),
        workers=[ctx.worker],
        healthy=healthy,
        close=ctx.close,
    )
