"""A grant as the hub holds it now — its state at each door — for the staff's pages.

The booking keeps the access state the hub last confirmed; what each door holds changes at the
hub (programmed, failed, revoked) without the booking being told every step. A page that shows
it asks the hub through its API (`GET /hub/v1/grants/{ref}`) with the tenant's key and a short
timeout, holding no database transaction while it waits, and says so when the hub cannot be
asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

from hallkey.booking import repository as repo
from hallkey.core.http import PeerError, call_json, make_client

if TYPE_CHECKING:
    from hallkey.booking.context import BookingContext

TIMEOUT_SECONDS = 3.0
"""A page waits this long for the hub at most (the rest of the page does not need it)."""


@dataclass(frozen=True)
class DoorState:
    """One door of a grant at the hub: `pending`, `programmed`, `failed` or `revoked`, and
    the codes of the errors its lock system gave."""

    door: str
    state: str
    errors: tuple[str, ...]


def door_states(ctx: BookingContext, tenant_id: str, ref: str) -> list[DoorState] | None:
    """Returns the state of each door of the grant `ref` at the hub (empty: the hub has no
    grant of it); None when the hub cannot be asked now (unreachable, slow, refusing)."""
    with ctx.database.read() as session:
        tenant = repo.tenant(session, tenant_id)
        if tenant is None:
            return None
        hub_url, sealed = tenant.hub_url, tenant.hub_api_key_sealed
    try:
        key = ctx.box.open(sealed)
        with make_client(hub_url, key, TIMEOUT_SECONDS) as client:
            path = f"/hub/v1/grants/{quote(ref, safe='')}"
            response = call_json(client, "GET", path, ok_statuses=(200, 404))
    except (PeerError, ValueError):
        return None
    if response.status_code == 404:
        return []
    try:
        return [
            DoorState(
                door=str(door["id"]),
                state=str(door["state"]),
                errors=tuple(str(error.get("code", "")) for error in door.get("errors", [])),
            )
            for door in response.json()["doors"]
        ]
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
