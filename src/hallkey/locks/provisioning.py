"""Creating the door controller's configuration records (for the demo, the CLI and tests)."""

from __future__ import annotations

import base64
import re
import secrets
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from hallkey.core.errors import Conflict, InvalidInput
from hallkey.core.ids import new_id
from hallkey.core.security import issue_api_key
from hallkey.locks import repository
from hallkey.locks.models import Controller, Door
from hallkey.locks.service import controller_record, queue_push

if TYPE_CHECKING:
    from hallkey.locks.context import LocksContext

API_KEY_PREFIX = "hkl"
_DOOR_ID = re.compile(r"[A-Za-z0-9_.:\-]{1,64}")


def _check_url(url: str) -> None:
    if not url.startswith(("http://", "https://")):
        raise InvalidInput("hub_events_url must be an http(s) URL", field="hub_events_url")


def create_controller(
    ctx: LocksContext,
    session: Session,
    *,
    name: str,
    hub_events_url: str | None = None,
    hub_events_token: str | None = None,
) -> tuple[str, str]:
    """Creates a controller; returns its id and its locks API key (shown only this once)."""
    if not name.strip():
        raise InvalidInput("name must not be empty", field="name")
    if (hub_events_url is None) != (hub_events_token is None):
        raise InvalidInput("give both hub_events_url and hub_events_token, or neither")
    if hub_events_url is not None:
        _check_url(hub_events_url)
    key = issue_api_key(API_KEY_PREFIX)
    controller = Controller(
        id=new_id("ctl"),
        name=name.strip(),
        api_key_id=key.key_id,
        api_secret_hash=key.secret_hash,
        pin_secret_sealed=ctx.box.seal(base64.b64encode(secrets.token_bytes(32)).decode()),
        hub_events_url=hub_events_url,
        hub_events_token_sealed=ctx.box.seal(hub_events_token) if hub_events_token else None,
        created_at=ctx.clock.now(),
    )
    session.add(controller)
    session.flush()
    return controller.id, key.plaintext


def set_hub_link(
    ctx: LocksContext,
    session: Session,
    *,
    controller_id: str,
    hub_events_url: str,
    hub_events_token: str,
) -> None:
    """Sets where the controller pushes its door events, and pushes the ones waiting."""
    _check_url(hub_events_url)
    controller = controller_record(session, controller_id)
    controller.hub_events_url = hub_events_url
    controller.hub_events_token_sealed = ctx.box.seal(hub_events_token)
    session.flush()
    queue_push(ctx, session, controller_id)


def create_door(
    ctx: LocksContext,
    session: Session,
    *,
    controller_id: str,
    name: str,
    door_id: str | None = None,
) -> str:
    """Creates a door on the controller (with the given id, or a new `door_…`); returns its id."""
    controller_record(session, controller_id)
    if not name.strip():
        raise InvalidInput("name must not be empty", field="name")
    if door_id is not None:
        if not _DOOR_ID.fullmatch(door_id):
            raise InvalidInput("door_id must be 1 to 64 letters, digits or _.:-", field="door_id")
        if repository.door_exists(session, door_id):
            raise Conflict("a door with this id exists", field="door_id")
    door = Door(
        id=door_id or new_id("door"),
        controller_id=controller_id,
        name=name.strip(),
        max_credentials=1000,
        created_at=ctx.clock.now(),
    )
    session.add(door)
    session.flush()
    return door.id
