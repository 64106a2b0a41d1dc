"""The door controller as a part of a web process."""

from __future__ import annotations

from hallkey.core.web import ContextPart, database_part
from hallkey.locks import operator_api
from hallkey.locks.api import build_routers
from hallkey.locks.context import LocksContext


def build_part(ctx: LocksContext) -> ContextPart:
    """Returns the context's routers, worker, health check and shutdown for a web process."""
    return database_part(
        name="locks",
        title="hallkey door controller",
        openapi_path="/locks/openapi.json",
        routers=[*build_routers(ctx), operator_api.build_router(ctx)],
        database=ctx.database,
        worker=ctx.worker,
        close=ctx.close,
    )
