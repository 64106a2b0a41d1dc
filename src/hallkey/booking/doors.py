"""Opening a reservation's door from the booking system (a caretaker's or admin's "open"
button): the hub pulses it through `GrantPulseAccess`, only while the grant is valid there.

The hub decides (grant valid now, at that door); the booking system checks only who may ask
and that the door is one of the reservation's resource. The call to the hub is made with no
database transaction open.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from hallkey.booking import callers, repository, reservation_views, service
from hallkey.booking.models import Resource
from hallkey.core.errors import Conflict, InvalidInput, TooManyRequests, Unavailable
from hallkey.core.http import PeerError, call_json, make_client
from hallkey.core.schemas import RequestModel

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from hallkey.booking.context import BookingContext
    from hallkey.booking.tokens import Principal

log = logging.getLogger(__name__)


class DoorOpenIn(RequestModel):
    """Which of the reservation's doors to open now."""

    door: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]{1,64}$")


class DoorOpenedOut(BaseModel):
    """The door the hub pulsed, unlocked until `unlocked_until`."""

    ref: str
    door: str
    unlocked_until: datetime


@dataclass(frozen=True)
class _Pulse:
    ref: str
    door: str
    hub_url: str
    hub_api_key: str


def plan_open(
    ctx: BookingContext, session: Session, principal: Principal, reservation_id: str, door: str
) -> _Pulse:
    """Returns what to ask the hub; raises NotFound (also for another venue's reservation for
    a caretaker) or InvalidInput (`door` not one of the resource's)."""
    reservation = service.get_reservation(session, principal.tenant_id, reservation_id)
    callers.check_venue(session, principal, reservation.resource_id)
    resource = session.get(Resource, reservation.resource_id)
    if resource is None or door not in resource.door_ids:
        raise InvalidInput("door is not a door of this reservation's resource", field="door")
    tenant = repository.tenant(session, principal.tenant_id)
    assert tenant is not None
    ref = reservation_views.hub_ref(session, reservation)
    return _Pulse(ref, door, tenant.hub_url, ctx.box.open(tenant.hub_api_key_sealed))


def send_open(ctx: BookingContext, plan: _Pulse, actor: str) -> DoorOpenedOut:
    """Asks the hub to pulse the door; returns its answer or raises a clear error."""
    try:
        with make_client(plan.hub_url, plan.hub_api_key, ctx.settings.http_timeout_seconds) as c:
            answer = call_json(
                c, "POST", "/hub/v1/GrantPulseAccess", {"ref": plan.ref, "door": plan.door}
            ).json()
    except PeerError as exc:
        if exc.status == 429:
            raise TooManyRequests(
                "the door was opened many times just now", retry_after=60
            ) from None
        if exc.status in (403, 404):
            # The hub has no grant valid now at that door (not yet, ended, revoked, pending).
            raise Conflict(
                "this reservation's access is not valid at that door now",
                code="not_valid_now",
                field="door",
            ) from None
        raise Unavailable(
            "the access hub cannot open the door now", code="hub_unavailable"
        ) from None
    log.info("door %s opened for %s by %s", plan.door, plan.ref, actor)
    return DoorOpenedOut(
        ref=plan.ref, door=str(answer["door"]), unlocked_until=answer["unlocked_until"]
    )
