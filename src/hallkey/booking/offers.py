"""What the public front pages show of a resource beyond the API's `ResourceOut`: its venue's
address, whether a booking waits for a case officer, whether its doors stand unlocked for a
booking (a public event) or it hands out a key, its opening hours, and its price in the
default price group with VAT, per hour or per booking.

Only what the tenant offers (active resources) and nothing about anyone's bookings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from hallkey.booking import prices, pricing, public
from hallkey.booking import repository as repo
from hallkey.booking.models import Resource, Venue
from hallkey.booking.schemas import PriceOut, ResourceOut
from hallkey.core.errors import NotFound


@dataclass(frozen=True)
class UnitPrice:
    """The default group's price with VAT: per hour (`unit="hour"`) or per booking."""

    unit: pricing.PriceUnit
    gross_ore: int


@dataclass(frozen=True)
class Offer:
    """One bookable resource as a guest sees it."""

    resource: ResourceOut
    venue_id: str
    venue_address: str
    approval_required: bool
    unlocks: bool
    opening_hours: dict[str, Any] | None
    price: UnitPrice | None
    """The default group's price; None when the resource is free or has no default price."""

    @property
    def free(self) -> bool:
        """Tells whether the resource has no price at all (booking it costs nothing)."""
        return not self.resource.prices


def unit_price(prices: list[PriceOut]) -> UnitPrice | None:
    """Returns the default group's price with VAT, per its unit; None when there is none."""
    for price in prices:
        if price.group != pricing.DEFAULT_GROUP:
            continue
        priced = pricing.Price(
            group=price.group,
            unit=price.unit,
            amount_ore=price.amount_ore,
            vat_basis_points=pricing.parse_vat_rate(price.vat_rate),
        )
        return UnitPrice(price.unit, pricing.quote(priced, timedelta(hours=1)).gross_ore)
    return None


def _offer(resource: Resource, venue: Venue, price_list: list[PriceOut]) -> Offer:
    return Offer(
        resource=public.resource_out(resource, venue.name, venue.timezone, price_list),
        venue_id=venue.id,
        venue_address=venue.address,
        approval_required=resource.approval_required,
        unlocks=resource.access_operation == "unlock",
        opening_hours=resource.opening_hours,
        price=unit_price(price_list),
    )


def list_offers(session: Session, tenant_id: str) -> list[Offer]:
    """Returns the tenant's bookable resources by venue name, then resource name."""
    by_resource = prices.tenant_prices(session, tenant_id)
    found = [
        _offer(resource, venue, by_resource.get(resource.id, []))
        for resource, venue in repo.resources_with_venues(session, tenant_id)
    ]
    return sorted(found, key=lambda offer: (offer.resource.venue, offer.venue_id))


def get_offer(session: Session, tenant_id: str, resource_id: str) -> Offer:
    """Returns one of the tenant's bookable resources; raises NotFound for another tenant's,
    an unknown or an inactive one."""
    resource = repo.resource(session, resource_id)
    if resource is None or resource.tenant_id != tenant_id or not resource.active:
        raise NotFound("unknown resource", field="resource_id")
    venue = repo.venue(session, resource.venue_id)
    assert venue is not None  # a foreign key guarantees it
    return _offer(resource, venue, prices.prices_out(session, resource.id))
