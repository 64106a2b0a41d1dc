"""The controller operator's API under `/locks/v1/operator/…` (bearer: an operator key)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, Security

from hallkey.core.auth import database_key
from hallkey.core.schemas import ERROR_RESPONSES
from hallkey.locks import operator
from hallkey.locks.operator import (
    ControllerIn,
    ControllerKeyOut,
    ControllerOut,
    ControllerPatch,
    OperatorDoorIn,
    OperatorDoorOut,
    OperatorDoorPatch,
)

if TYPE_CHECKING:
    from hallkey.locks.context import LocksContext


def build_router(ctx: LocksContext) -> APIRouter:
    """Returns the operator's router, with full paths."""
    key = database_key(
        ctx.database,
        operator.authenticate_operator,
        scheme_name="locksOperatorKey",
        description="controller operator key",
    )
    router = APIRouter(
        prefix="/locks/v1/operator",
        tags=["locks operator"],
        responses=ERROR_RESPONSES,
        dependencies=[Security(key)],
    )

    @router.get("/controllers", response_model=list[ControllerOut])
    def list_controllers() -> list[ControllerOut]:
        """Lists the controllers with their doors."""
        with ctx.database.transaction() as session:
            return operator.list_controllers(session)

    @router.post("/controllers", status_code=201, response_model=ControllerKeyOut)
    def create_controller(body: ControllerIn) -> ControllerKeyOut:
        """Creates a controller; its locks API key is shown only in this answer."""
        with ctx.database.transaction() as session:
            return operator.create_controller(ctx, session, body)

    @router.patch("/controllers/{controller_id}", response_model=ControllerOut)
    def update_controller(controller_id: str, body: ControllerPatch) -> ControllerOut:
        """Renames a controller or sets its link to the hub."""
        with ctx.database.transaction() as session:
            return operator.update_controller(ctx, session, controller_id, body)

    @router.post("/controllers/{controller_id}/key", response_model=ControllerKeyOut)
    def new_controller_key(controller_id: str) -> ControllerKeyOut:
        """Gives a controller a new locks API key (the old one stops working at once)."""
        with ctx.database.transaction() as session:
            return operator.new_controller_key(ctx, session, controller_id)

    @router.post("/doors", status_code=201, response_model=OperatorDoorOut)
    def create_door(body: OperatorDoorIn) -> OperatorDoorOut:
        """Creates a door on a controller."""
        with ctx.database.transaction() as session:
            return operator.create_door(ctx, session, body)

    @router.patch("/doors/{door_id}", response_model=OperatorDoorOut)
    def update_door(door_id: str, body: OperatorDoorPatch) -> OperatorDoorOut:
        """Renames a door."""
        with ctx.database.transaction() as session:
            return operator.update_door(ctx, session, door_id, body)

    return router
