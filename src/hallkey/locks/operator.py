"""The controller operator's set-up: controllers (their keys and hub link) and doors.

Services only (the request owns the transaction). The operator authenticates with an
`hklo_` key of the controller's own, never a controller's or another context's key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from hallkey.core import operators
from hallkey.core.errors import Conflict, InvalidInput, NotFound
from hallkey.core.schemas import RequestModel
from hallkey.core.security import issue_api_key
from hallkey.locks import provisioning, repository
from hallkey.locks.models import Controller, Door, operator_keys_table
from hallkey.locks.schemas import HubDoorId
from hallkey.locks.service import controller_record

if TYPE_CHECKING:
    from hallkey.locks.context import LocksContext

OPERATOR_PREFIX = "hklo"
URL_PATTERN = r"^https?://"


class ControllerIn(RequestModel):
    name: str = Field(min_length=1, max_length=200)


class ControllerPatch(RequestModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    # Where the controller pushes door events, with the hub site's events token.
    hub_events_url: str | None = Field(default=None, max_length=500, pattern=URL_PATTERN)
    hub_events_token: str | None = Field(default=None, min_length=8, max_length=500)


class OperatorDoorIn(RequestModel):
    controller_id: str = Field(min_length=1, max_length=40)
    id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.:\-]{1,64}$")
    name: str = Field(min_length=1, max_length=200)
    # The hub's id of the door when it differs from its own (mobile keys name hub doors).
    hub_door_id: HubDoorId | None = None


class OperatorDoorPatch(RequestModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    hub_door_id: HubDoorId | None = None


class OperatorDoorOut(BaseModel):
    id: str
    controller_id: str
    name: str
    hub_door_id: str | None


class ControllerOut(BaseModel):
    id: str
    name: str
    hub_events_url: str | None
    doors: list[OperatorDoorOut]


class ControllerKeyOut(ControllerOut):
    """A controller with a new locks API key, shown only in this answer."""

    api_key: str


def issue_operator_key(ctx: LocksContext, session: Session, *, name: str) -> tuple[str, str]:
    """Stores a new controller operator key; returns (its id, the key, shown only now)."""
    return operators.issue_operator_key(
        session, operator_keys_table, OPERATOR_PREFIX, name=name, now=ctx.clock.now()
    )


def revoke_operator_key(ctx: LocksContext, session: Session, *, key_id: str) -> None:
    """Deletes a controller operator key."""
    operators.revoke_operator_key(session, operator_keys_table, key_id)


def authenticate_operator(session: Session, token: str) -> str:
    """Returns the id of the controller operator key presented; raises Unauthorized."""
    return operators.authenticate_operator(session, operator_keys_table, OPERATOR_PREFIX, token)


def _door_out(door: Door) -> OperatorDoorOut:
    return OperatorDoorOut(
        id=door.id, controller_id=door.controller_id, name=door.name, hub_door_id=door.hub_door_id
    )


def _controller_out(session: Session, controller: Controller) -> ControllerOut:
    doors = session.scalars(
        select(Door).where(Door.controller_id == controller.id).order_by(Door.id)
    )
    return ControllerOut(
        id=controller.id,
        name=controller.name,
        hub_events_url=controller.hub_events_url,
        doors=[_door_out(door) for door in doors],
    )


def list_controllers(session: Session) -> list[ControllerOut]:
    """Returns every controller with its doors (never a key)."""
    found = session.scalars(select(Controller).order_by(Controller.name, Controller.id))
    return [_controller_out(session, controller) for controller in found]


def create_controller(ctx: LocksContext, session: Session, body: ControllerIn) -> ControllerKeyOut:
    """Creates a controller; its locks API key is in this answer only."""
    controller_id, api_key = provisioning.create_controller(ctx, session, name=body.name)
    out = _controller_out(session, controller_record(session, controller_id))
    return ControllerKeyOut(**out.model_dump(), api_key=api_key)


def new_controller_key(ctx: LocksContext, session: Session, controller_id: str) -> ControllerKeyOut:
    """Gives a controller a new locks API key; the old one stops working at once."""
    controller = controller_record(session, controller_id)
    key = issue_api_key(provisioning.API_KEY_PREFIX)
    controller.api_key_id = key.key_id
    controller.api_secret_hash = key.secret_hash
    session.flush()
    return ControllerKeyOut(
        **_controller_out(session, controller).model_dump(), api_key=key.plaintext
    )


def update_controller(
    ctx: LocksContext, session: Session, controller_id: str, body: ControllerPatch
) -> ControllerOut:
    """Renames a controller or sets its link to the hub (URL and token together)."""
    controller = controller_record(session, controller_id)
    if (body.hub_events_url is None) != (body.hub_events_token is None):
        raise InvalidInput(
            "give hub_events_url and hub_events_token together", field="hub_events_token"
        )
    if body.name is not None:
        if not body.name.strip():
            raise InvalidInput("name must not be empty", field="name")
        controller.name = body.name.strip()
    if body.hub_events_url is not None and body.hub_events_token is not None:
        provisioning.set_hub_link(
            ctx,
            session,
            controller_id=controller.id,
            hub_events_url=body.hub_events_url,
            hub_events_token=body.hub_events_token,
        )
    session.flush()
    return _controller_out(session, controller)


def create_door(ctx: LocksContext, session: Session, body: OperatorDoorIn) -> OperatorDoorOut:
    """Creates a door on a controller."""
    if body.id is not None and repository.door_exists(session, body.id):
        raise Conflict("a door with this id exists", field="id")
    door_id = provisioning.create_door(
        ctx, session, controller_id=body.controller_id, name=body.name, door_id=body.id
    )
    door = session.get(Door, door_id)
    assert door is not None
    door.hub_door_id = body.hub_door_id
    session.flush()
    return _door_out(door)


def update_door(
    ctx: LocksContext, session: Session, door_id: str, body: OperatorDoorPatch
) -> OperatorDoorOut:
    """Renames a door or sets the hub's id for it."""
    door = session.get(Door, door_id)
    if door is None:
        raise NotFound("unknown door", field="door_id")
    if body.name is not None:
        if not body.name.strip():
            raise InvalidInput("name must not be empty", field="name")
        door.name = body.name.strip()
    if body.hub_door_id is not None:
        door.hub_door_id = body.hub_door_id
    session.flush()
    return _door_out(door)
