"""The door controller as a part of a web process."""

from __future__ import annotations

from sqlalchemy import text

from hallkey.core.web import ContextPart
from hallkey.locks.api import build_routers
from hallkey.locks.context import LocksContext


def build_part(ctx: LocksContext) -> ContextPart:
    """Returns the door controller's routers, worker and health check for a web process."""

    def healthy() -> bool:
        with ctx.database.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True

    return ContextPart(
        name="locks",
        title="hallkey door controller",
        openapi_path="/locks/openapi.json",
        routers=build_routers(ctx),
        workers=[ctx.worker],
        healthy=healthy,
        close=ctx.close,
    )
