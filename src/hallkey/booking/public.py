"""What anyone may see without a token: the bookable resources and when they are free."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from hallkey.booking import domain
from hallkey.booking import repository as repo
from hallkey.booking.schemas import AvailabilityOut, FrameOut, ResourceOut
from hallkey.core.errors import NotFound


def list_resources(session: Session) -> list[ResourceOut]:
    """Returns every bookable resource."""
    return [
        ResourceOut(
            id=resource.id,
            name=resource.name,
            venue=venue.name,
            timezone=venue.timezone,
            credential=resource.credential,
            access_before_minutes=resource.access_before_minutes,
            access_after_minutes=resource.access_after_minutes,
        )
        for resource, venue in repo.resources_with_venues(session)
    ]


def availability(
    session: Session, resource_id: str, start: datetime, end: datetime
) -> AvailabilityOut:
    """Returns the busy and free frames of a resource within `[start, end)`."""
    span = domain.validate_availability_range(start, end)
    resource = repo.resource(session, resource_id)
    if resource is None:
        raise NotFound("unknown resource", field="resource_id")
    venue = repo.venue(session, resource.venue_id)
    assert venue is not None  # a foreign key guarantees it
    busy = [
        domain.clip(domain.Frame(r.start_at, r.end_at), span)
        for r in repo.overlapping(session, resource.id, span.start, span.end)
    ]
    free = domain.free_frames(span, resource.opening_hours, domain.zone(venue.timezone), busy)
    return AvailabilityOut(
        resource_id=resource.id,
        from_=span.start,
        to=span.end,
        busy=[FrameOut(start=f.start, end=f.end) for f in domain.merge(busy)],
        free=[FrameOut(start=f.start, end=f.end) for f in free],
    )
