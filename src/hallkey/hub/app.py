"""The hub as a part of a web process."""

from __future__ import annotations

from hallkey.core.web import ContextPart, database_part
from hallkey.hub import operator_api, webhook_api
from hallkey.hub.api import build_routers
from hallkey.hub.context import HubContext


def build_part(ctx: HubContext) -> ContextPart:
    """Returns the context's routers, worker, health check and shutdown for a web process."""
    return database_part(
        name="hub",
        title="hallkey hub",
        openapi_path="/hub/openapi.json",
        routers=[
            *build_routers(ctx),
            operator_api.build_router(ctx),
            webhook_api.build_client_router(ctx),
            webhook_api.build_operator_router(ctx),
        ],
        database=ctx.database,
        worker=ctx.worker,
        close=ctx.close,
    )
