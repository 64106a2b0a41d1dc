"""A caretaker's week: the bookings at the venues they may see, each with its resource, the
venue's time zone, its access state, whether it was used (door events, `usage`) and whether
its door can be opened now.

The list is the staff desk's query (`office_repository.reservation_page`: the tenant and the
caller's venues are conditions of the query, on the (tenant_id, start_at) index); usage is
`usage.usages` (two index reads for the whole list). Whether a door opens is the hub's
decision; `open_now` only tells the page when to offer the button.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import select

from hallkey.booking import desk, domain, usage
from hallkey.booking import office_repository as office_repo
from hallkey.booking import repository as repo
from hallkey.booking.models import Resource, Venue
from hallkey.booking.office_schemas import ReservationSummaryOut
from hallkey.booking.usage_schemas import Usage

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from hallkey.booking.tokens import Principal

MAX_ROWS = 500
"""Most bookings one week shows (a hall booked every half hour around the clock is 336)."""


@dataclass(frozen=True)
class Booked:
    """One booking as the caretaker's page shows it."""

    reservation: ReservationSummaryOut
    resource: str
    venue: str
    timezone: str
    doors: list[str]
    usage: Usage
    open_now: bool
    local_day: date


@dataclass(frozen=True)
class Week:
    """The bookings of one week (Monday to Sunday in the tenant's zone) the caller may see."""

    first_day: date
    today: date
    timezone: str
    bookings: list[Booked]
    more: bool
    """True when the week holds more than MAX_ROWS bookings (the first are shown)."""

    @property
    def days(self) -> list[date]:
        """Returns the seven days of the week."""
        return [self.first_day + timedelta(days=n) for n in range(7)]

    def noon(self, day: date) -> datetime:
        """Returns midday of a day in the tenant's zone (for the `date` filter)."""
        return datetime.combine(day, time(12), ZoneInfo(self.timezone))

    def on(self, day: date) -> list[Booked]:
        """Returns the bookings starting on a day (in their venue's zone)."""
        return [booked for booked in self.bookings if booked.local_day == day]


def monday_of(day: date) -> date:
    """Returns the Monday of the ISO week holding `day`."""
    return day - timedelta(days=day.weekday())


def week(session: Session, principal: Principal, day: date | None, now: datetime) -> Week:
    """Returns the week holding `day` (this week when None) at the caller's venues."""
    tenant = repo.tenant(session, principal.tenant_id)
    assert tenant is not None
    zone = ZoneInfo(tenant.timezone)
    today = now.astimezone(zone).date()
    first = monday_of(day or today)
    start = datetime.combine(first, time(), zone)
    end = datetime.combine(first + timedelta(days=7), time(), zone)
    where = office_repo.ReservationFilter(
        tenant_id=principal.tenant_id,
        venue_ids=principal.venue_ids,
        start_before=end,
        end_after=start,
    )
    rows = office_repo.reservation_page(session, where, after=None, limit=MAX_ROWS + 1)
    shown = rows[:MAX_ROWS]
    reservations = [reservation for reservation, _ in shown]
    resource_ids = sorted({r.resource_id for r in reservations})
    resources = {
        r.id: r for r in session.scalars(select(Resource).where(Resource.id.in_(resource_ids)))
    }
    venue_ids = sorted({r.venue_id for r in resources.values()})
    venues = {v.id: v for v in session.scalars(select(Venue).where(Venue.id.in_(venue_ids)))}
    used = usage.usages(session, reservations, resources, now)
    bookings: list[Booked] = []
    for reservation, venue_id in shown:
        resource = resources[reservation.resource_id]
        venue = venues[venue_id]
        window = usage.window_of(reservation, resource)
        bookings.append(
            Booked(
                reservation=desk.summary(reservation, venue_id),
                resource=resource.name,
                venue=venue.name,
                timezone=venue.timezone,
                doors=list(resource.door_ids),
                usage=used[reservation.id],
                open_now=_open_now(reservation.status, reservation.access_state, window, now),
                local_day=reservation.start_at.astimezone(ZoneInfo(venue.timezone)).date(),
            )
        )
    return Week(first, today, tenant.timezone, bookings, more=len(rows) > MAX_ROWS)


def _open_now(status: str, access_state: str, window: domain.Frame, now: datetime) -> bool:
    """Tells whether the hub should take an "open" for the booking now: confirmed, its grant
    accepted, and now inside its access window."""
    return status == "confirmed" and access_state == "granted" and window.start <= now < window.end


@dataclass(frozen=True)
class VenueChoice:
    id: str
    name: str
    timezone: str


def visible_venues(session: Session, principal: Principal) -> list[VenueChoice]:
    """Returns the tenant's venues the caller may see, by name."""
    query = select(Venue).where(Venue.tenant_id == principal.tenant_id)
    if principal.venue_ids is not None:
        query = query.where(Venue.id.in_(sorted(principal.venue_ids)))
    return [
        VenueChoice(v.id, v.name, v.timezone)
        for v in session.scalars(query.order_by(Venue.name, Venue.id))
    ]


def venue_zone_of(session: Session, principal: Principal, reservation_id: str) -> str:
    """Returns the time zone of a reservation's venue (the tenant's when unknown)."""
    reservation = repo.reservation(session, reservation_id)
    resource = repo.resource(session, reservation.resource_id) if reservation else None
    venue = repo.venue(session, resource.venue_id) if resource else None
    if venue is not None and venue.tenant_id == principal.tenant_id:
        return venue.timezone
    tenant = repo.tenant(session, principal.tenant_id)
    assert tenant is not None
    return tenant.timezone
