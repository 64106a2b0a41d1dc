"""What anyone may see without a token: one tenant's resources and when they are free.

A public request concerns one tenant, found by (in this order) the request's host name among
the tenants' host names, the `tenant` query parameter (the tenant's slug), or, when the
installation has only one tenant, that one. Otherwise it is 400 `tenant_required`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from hallkey.booking import checks, domain, prices, rules
from hallkey.booking import repository as repo
from hallkey.booking.models import Resource
from hallkey.booking.schemas import AvailabilityOut, FrameOut, PriceOut, ResourceOut
from hallkey.core.errors import BadRequest, InvalidInput, NotFound

# How far back availability may be asked for: enough for last month's calendar, and a bound
# on the dates computed (the span itself is bounded by domain.MAX_AVAILABILITY_SPAN).
AVAILABILITY_PAST = timedelta(days=366)


def host_name(host_header: str | None) -> str | None:
    """Returns the host name of a Host header: lower-cased, without port or trailing dot."""
    if not host_header:
        return None
    host = host_header.strip().lower()
    if host.startswith("["):  # an IPv6 literal, e.g. [::1]:8000
        host = host[1 : host.find("]")] if "]" in host else host
    else:
        host = host.rsplit(":", 1)[0]
    return host.rstrip(".") or None


def resolve_tenant(session: Session, host_header: str | None, slug: str | None) -> str:
    """Returns the id of the tenant a public request is about; raises if it is not clear."""
    hostname = host_name(host_header)
    tenant = repo.tenant_by_hostname(session, hostname) if hostname else None
    if tenant is not None:
        if slug is not None and slug != tenant.slug:
            raise NotFound("unknown tenant", field="tenant")
        return tenant.id
    if slug is not None:
        tenant = repo.tenant_by_slug(session, slug)
        if tenant is None:
            raise NotFound("unknown tenant", field="tenant")
        return tenant.id
    only = repo.some_tenant_ids(session, 2)
    if len(only) == 1:
        return only[0]
    raise BadRequest("name the tenant with ?tenant=<slug>", code="tenant_required", field="tenant")


def resource_out(
    resource: Resource, venue_name: str, timezone: str, price_list: list[PriceOut] | None = None
) -> ResourceOut:
    """Returns the public view of a resource (with its prices when given)."""
    return ResourceOut(
        id=resource.id,
        name=resource.name,
        venue=venue_name,
        timezone=timezone,
        credential=resource.credential,
        access_before_minutes=resource.access_before_minutes,
        access_after_minutes=resource.access_after_minutes,
        min_booking_minutes=resource.min_booking_minutes,
        max_booking_minutes=resource.max_booking_minutes,
        horizon_days=resource.horizon_days,
        prices=price_list or [],
        slot_minutes=resource.slot_minutes,
        lead_minutes=resource.lead_minutes,
        buffer_minutes=resource.buffer_minutes,
        closed_periods=resource.closed_periods,
        public_holidays_closed=resource.public_holidays_closed,
        max_open_bookings=resource.max_open_bookings,
        free_cancellation_hours=resource.free_cancellation_hours,
    )


def list_resources(session: Session, tenant_id: str) -> list[ResourceOut]:
    """Returns the tenant's bookable resources with their prices."""
    by_resource = prices.tenant_prices(session, tenant_id)
    return [
        resource_out(resource, venue.name, venue.timezone, by_resource.get(resource.id))
        for resource, venue in repo.resources_with_venues(session, tenant_id)
    ]


def availability(
    session: Session,
    tenant_id: str,
    resource_id: str,
    start: datetime,
    end: datetime,
    now: datetime,
) -> AvailabilityOut:
    """Returns the busy and free frames of the tenant's resource within `[start, end)`: busy
    is the booked time (never who), free is where a booking would be accepted (every rule)."""
    span = domain.validate_availability_range(start, end)
    resource = repo.resource(session, resource_id)
    if resource is None or resource.tenant_id != tenant_id:
        raise NotFound("unknown resource", field="resource_id")
    # Bounded around now, so no date computed from the range can overflow, whatever it is.
    if span.start < now - AVAILABILITY_PAST:
        raise InvalidInput("from must be at most 366 days ago", field="from")
    if span.end > now + timedelta(days=resource.horizon_days) + domain.MAX_AVAILABILITY_SPAN:
        raise InvalidInput("to is beyond how far ahead this resource can be booked", field="to")
    venue = repo.venue(session, resource.venue_id)
    assert venue is not None  # a foreign key guarantees it
    resource_rules = checks.rules_of(resource)
    # Held times reaching into the span, or so near its end that a booking's buffer would.
    reach = rules.block_end(span.end, resource_rules.buffer_minutes)
    held = repo.held_times(session, resource.id, span.start, reach)
    busy = [
        domain.clip(domain.Frame(start_at, end_at), span)
        for start_at, end_at, _ in held
        if start_at < span.end and end_at > span.start
    ]
    free = rules.free_frames(
        span,
        resource_rules,
        resource.opening_hours,
        domain.zone(venue.timezone),
        [domain.Frame(start_at, block_end_at) for start_at, _, block_end_at in held],
        now,
    )
    return AvailabilityOut(
        resource_id=resource.id,
        from_=span.start,
        to=span.end,
        busy=[FrameOut(start=f.start, end=f.end) for f in domain.merge(busy)],
        free=[FrameOut(start=f.start, end=f.end) for f in free],
    )
