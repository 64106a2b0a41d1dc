"""A signed-in customer's own bookings: where each is, when its key works, whether and on
what terms they may cancel it, and the cancel itself (the API's `service.cancel_reservation`,
after checking the reservation is theirs and has not begun).

The `/my` page shows what this module answers; staff cancel through the API, which knows no
such limits (a case officer may cancel a booking that has begun).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from hallkey.booking import repository as repo
from hallkey.booking import rules, service
from hallkey.booking.models import Reservation, Resource
from hallkey.core.errors import Conflict, NotFound

if TYPE_CHECKING:
    from hallkey.booking.context import BookingContext


@dataclass(frozen=True)
class Place:
    """What a customer's page tells about a reservation's resource and venue."""

    resource: str
    venue: str
    address: str
    timezone: str
    access_before_minutes: int
    access_after_minutes: int
    unlock: bool  # a public event: the door stands unlocked, nobody holds a key
    free_cancellation_hours: int | None


@dataclass(frozen=True)
class CancelTerms:
    """Whether the customer may cancel a reservation now, and what it costs.

    `free_until`: when free cancellation ends (None: free until the start, or not charged at
    all); `charged`: cancelling now is charged; `refused`: why not (`started`, `ended`,
    `cancelled`, `denied`), None when allowed.
    """

    refused: str | None
    charged: bool
    free_until: datetime | None

    @property
    def allowed(self) -> bool:
        """Tells whether the customer may cancel now."""
        return self.refused is None


def places(session: Session, resource_ids: set[str]) -> dict[str, Place]:
    """Returns the place of each resource (by id)."""
    found: dict[str, Place] = {}
    for resource_id in sorted(resource_ids):
        resource = repo.resource(session, resource_id)
        venue = repo.venue(session, resource.venue_id) if resource is not None else None
        if resource is None or venue is None:
            continue  # foreign keys make this impossible; a page must not fail on it
        found[resource_id] = place_of(resource, venue.name, venue.address, venue.timezone)
    return found


def place_of(resource: Resource, venue: str, address: str, timezone: str) -> Place:
    """Returns the place of a resource in its venue."""
    return Place(
        resource=resource.name,
        venue=venue,
        address=address,
        timezone=timezone,
        access_before_minutes=resource.access_before_minutes,
        access_after_minutes=resource.access_after_minutes,
        unlock=resource.access_operation == "unlock",
        free_cancellation_hours=resource.free_cancellation_hours,
    )


def access_window(start: datetime, end: datetime, place: Place) -> tuple[datetime, datetime]:
    """Returns when the key works: the booking widened by the resource's access minutes (as
    the grant asked of the hub)."""
    return (
        start - timedelta(minutes=place.access_before_minutes),
        end + timedelta(minutes=place.access_after_minutes),
    )


def cancel_terms(
    status: str, start: datetime, end: datetime, place: Place, now: datetime
) -> CancelTerms:
    """Returns whether a customer may cancel a reservation now and on what terms."""
    refused = None
    if status in ("cancelled", "denied"):
        refused = status
    elif end <= now:
        refused = "ended"
    elif start <= now:
        refused = "started"
    hours = place.free_cancellation_hours
    # Only a confirmed booking is charged (as service.cancel_reservation decides).
    charging = status == "confirmed" and hours is not None
    free_until = start - timedelta(hours=hours) if charging and hours is not None else None
    charged = charging and rules.cancellation_charged(start, now, hours)
    return CancelTerms(refused=refused, charged=charged, free_until=free_until)


def own_reservation(
    session: Session, tenant_id: str, customer_id: str, reservation_id: str, *, lock: bool = False
) -> Reservation:
    """Returns the customer's own reservation; raises NotFound for anyone else's (as for an
    unknown one)."""
    reservation = repo.reservation(session, reservation_id, lock=lock)
    if (
        reservation is None
        or reservation.tenant_id != tenant_id
        or reservation.customer_id != customer_id
    ):
        raise NotFound("unknown reservation")
    return reservation


def cancel_own(
    ctx: BookingContext, session: Session, tenant_id: str, customer_id: str, reservation_id: str
) -> Reservation:
    """Returns the customer's reservation cancelled (its access revoked, as the API's cancel
    does); raises NotFound for another's, Conflict (`not_cancellable`) once it has begun or
    was denied. Cancelling twice changes nothing."""
    reservation = own_reservation(session, tenant_id, customer_id, reservation_id, lock=True)
    if reservation.status == "cancelled":
        return reservation
    place = places(session, {reservation.resource_id})[reservation.resource_id]
    terms = cancel_terms(
        reservation.status, reservation.start_at, reservation.end_at, place, ctx.clock.now()
    )
    if not terms.allowed:
        raise Conflict(
            f"this booking cannot be cancelled ({terms.refused})",
            code="not_cancellable",
        )
    return service.cancel_reservation(ctx, session, tenant_id, reservation_id)
