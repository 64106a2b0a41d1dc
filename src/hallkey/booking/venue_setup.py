"""Setting a tenant's venues and resources up (the operator, a `setup` token, or staff on the
set-up pages): list, create, update, with every rule and price. Services only: the request owns
the transaction."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from hallkey.booking import domain, prices, provisioning, rules, service
from hallkey.booking.models import Resource, Venue
from hallkey.booking.schemas import ClosedPeriodIn, ClosedPeriodOut
from hallkey.booking.setup_schemas import (
    NULLABLE_RULES,
    ResourceIn,
    ResourcePatch,
    ResourceSetupOut,
    VenueIn,
    VenueOut,
    VenuePatch,
)
from hallkey.core.errors import BadRequest, NotFound

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from hallkey.booking.context import BookingContext


def resource_setup_out(session: Session, resource: Resource) -> ResourceSetupOut:
    """Returns a resource with all its rules and prices."""
    return ResourceSetupOut(
        id=resource.id,
        venue_id=resource.venue_id,
        name=resource.name,
        active=resource.active,
        door_ids=list(resource.door_ids),
        credential=resource.credential,
        access_operation=resource.access_operation,
        access_before_minutes=resource.access_before_minutes,
        access_after_minutes=resource.access_after_minutes,
        opening_hours=resource.opening_hours,
        approval_required=resource.approval_required,
        min_booking_minutes=resource.min_booking_minutes,
        max_booking_minutes=resource.max_booking_minutes,
        horizon_days=resource.horizon_days,
        prices=prices.prices_out(session, resource.id),
        closed_periods=[ClosedPeriodOut.model_validate(p) for p in resource.closed_periods],
        public_holidays_closed=resource.public_holidays_closed,
        slot_minutes=resource.slot_minutes,
        lead_minutes=resource.lead_minutes,
        buffer_minutes=resource.buffer_minutes,
        max_open_bookings=resource.max_open_bookings,
        free_cancellation_hours=resource.free_cancellation_hours,
    )


def _closed_periods(periods: list[ClosedPeriodIn] | list[ClosedPeriodOut]) -> list[dict[str, Any]]:
    """Returns closed periods in their stored form, checked."""
    return rules.validate_closed_periods(p.model_dump(by_alias=True) for p in periods)


def _venue_out(session: Session, venue: Venue) -> VenueOut:
    resources = session.scalars(
        select(Resource).where(Resource.venue_id == venue.id).order_by(Resource.name, Resource.id)
    )
    return VenueOut(
        id=venue.id,
        name=venue.name,
        address=venue.address,
        timezone=venue.timezone,
        resources=[resource_setup_out(session, resource) for resource in resources],
    )


def _venue(session: Session, tenant_id: str, venue_id: str) -> Venue:
    venue = session.get(Venue, venue_id)
    if venue is None or venue.tenant_id != tenant_id:
        raise NotFound("unknown venue", field="venue_id")
    return venue


def list_venues(session: Session, tenant_id: str) -> list[VenueOut]:
    """Returns the tenant's venues, each with all its resources (inactive ones too)."""
    venues = session.scalars(
        select(Venue).where(Venue.tenant_id == tenant_id).order_by(Venue.name, Venue.id)
    )
    return [_venue_out(session, venue) for venue in venues]


def create_venue(ctx: BookingContext, session: Session, tenant_id: str, body: VenueIn) -> VenueOut:
    """Creates a venue of the tenant."""
    venue_id = provisioning.create_venue(
        ctx,
        session,
        tenant_id=tenant_id,
        name=body.name,
        address=body.address,
        timezone=body.timezone,
    )
    return _venue_out(session, _venue(session, tenant_id, venue_id))


def update_venue(
    ctx: BookingContext, session: Session, tenant_id: str, venue_id: str, body: VenuePatch
) -> VenueOut:
    """Changes what the patch names of a venue."""
    venue = _venue(session, tenant_id, venue_id)
    if body.timezone is not None:
        domain.zone(body.timezone)
        venue.timezone = body.timezone
    if body.name is not None:
        venue.name = body.name
    if body.address is not None:
        venue.address = body.address
    session.flush()
    return _venue_out(session, venue)


def create_resource(
    ctx: BookingContext, session: Session, tenant_id: str, body: ResourceIn
) -> ResourceSetupOut:
    """Creates a resource of one of the tenant's venues, with its rules and doors."""
    _venue(session, tenant_id, body.venue_id)
    defaults = ResourceSetupOut(
        id="",
        venue_id=body.venue_id,
        name=body.name,
        active=body.active,
        door_ids=body.door_ids,
        credential="pin",
        access_operation="code",
        access_before_minutes=15,
        access_after_minutes=15,
        opening_hours=None,
        approval_required=False,
        min_booking_minutes=15,
        max_booking_minutes=24 * 60,
        horizon_days=365,
        closed_periods=[],
        public_holidays_closed=False,
        slot_minutes=None,
        lead_minutes=0,
        buffer_minutes=0,
        max_open_bookings=None,
        free_cancellation_hours=None,
    )
    if body.prices is not None:
        prices.check_prices(body.prices)
    wanted = defaults.model_copy(
        update=body.model_dump(exclude_none=True, exclude={"active", "closed_periods", "prices"})
    )
    resource_id = provisioning.create_resource(
        ctx,
        session,
        venue_id=wanted.venue_id,
        name=wanted.name,
        door_ids=wanted.door_ids,
        credential=wanted.credential,
        access_operation=wanted.access_operation,
        access_before_minutes=wanted.access_before_minutes,
        access_after_minutes=wanted.access_after_minutes,
        opening_hours=wanted.opening_hours,
        approval_required=wanted.approval_required,
        min_booking_minutes=wanted.min_booking_minutes,
        max_booking_minutes=wanted.max_booking_minutes,
        horizon_days=wanted.horizon_days,
        active=wanted.active,
        closed_periods=_closed_periods(body.closed_periods or []),
        public_holidays_closed=wanted.public_holidays_closed,
        slot_minutes=wanted.slot_minutes,
        lead_minutes=wanted.lead_minutes,
        buffer_minutes=wanted.buffer_minutes,
        max_open_bookings=wanted.max_open_bookings,
        free_cancellation_hours=wanted.free_cancellation_hours,
    )
    resource = session.get(Resource, resource_id)
    assert resource is not None
    if body.prices is not None:
        prices.set_prices(session, resource, body.prices, ctx.clock.now())
    return resource_setup_out(session, resource)


def update_resource(
    ctx: BookingContext, session: Session, tenant_id: str, resource_id: str, body: ResourcePatch
) -> ResourceSetupOut:
    """Changes what the patch names of a resource; the rules are checked as a whole."""
    resource = session.get(Resource, resource_id)
    if resource is None or resource.tenant_id != tenant_id:
        raise NotFound("unknown resource", field="resource_id")
    current = resource_setup_out(session, resource)
    if body.prices is not None:
        prices.check_prices(body.prices)
    changes = body.model_dump(
        exclude_none=True, exclude={"clear_opening_hours", "closed_periods", "prices"}
    )
    changes.update(
        (name, None)
        for name in NULLABLE_RULES
        if name in body.model_fields_set and getattr(body, name) is None
    )
    if body.clear_opening_hours:
        if body.opening_hours is not None:
            raise BadRequest(
                "give opening_hours or clear_opening_hours, not both", field="opening_hours"
            )
        changes["opening_hours"] = None
    wanted = current.model_copy(update=changes)
    provisioning.check_resource_rules(
        credential=wanted.credential,
        access_operation=wanted.access_operation,
        access_before_minutes=wanted.access_before_minutes,
        access_after_minutes=wanted.access_after_minutes,
        min_booking_minutes=wanted.min_booking_minutes,
        max_booking_minutes=wanted.max_booking_minutes,
        horizon_days=wanted.horizon_days,
    )
    rules.check_rule_values(
        slot_minutes=wanted.slot_minutes,
        lead_minutes=wanted.lead_minutes,
        buffer_minutes=wanted.buffer_minutes,
        max_open_bookings=wanted.max_open_bookings,
        free_cancellation_hours=wanted.free_cancellation_hours,
    )
    resource.name = wanted.name
    resource.active = wanted.active
    resource.door_ids = list(wanted.door_ids)
    resource.credential = wanted.credential
    # Bookings already granted keep their operation; new ones take the new one.
    resource.access_operation = wanted.access_operation
    resource.access_before_minutes = wanted.access_before_minutes
    resource.access_after_minutes = wanted.access_after_minutes
    resource.opening_hours = domain.validate_opening_hours(wanted.opening_hours)
    resource.approval_required = wanted.approval_required
    resource.min_booking_minutes = wanted.min_booking_minutes
    resource.max_booking_minutes = wanted.max_booking_minutes
    resource.horizon_days = wanted.horizon_days
    if body.closed_periods is not None:
        resource.closed_periods = _closed_periods(body.closed_periods)
    resource.public_holidays_closed = wanted.public_holidays_closed
    resource.slot_minutes = wanted.slot_minutes
    resource.lead_minutes = wanted.lead_minutes
    # Reservations already made keep the buffer they were booked with (their block_end_at);
    # a new buffer holds for bookings made or moved from now on.
    resource.buffer_minutes = wanted.buffer_minutes
    resource.max_open_bookings = wanted.max_open_bookings
    resource.free_cancellation_hours = wanted.free_cancellation_hours
    if body.prices is not None:
        prices.set_prices(session, resource, body.prices, ctx.clock.now())
    session.flush()
    access = ("door_ids", "access_before_minutes", "access_after_minutes")
    if any(getattr(current, name) != getattr(wanted, name) for name in access):
        # The grants at the hub hold the old doors and windows: every booking still to come
        # is synced again, so its key follows (new doors programmed, old ones revoked).
        service.resync_resource_access(ctx, session, resource)
    return resource_setup_out(session, resource)
