"""What the case officer's desk pages share: the venues and resources a staff member may see,
times typed in a venue's zone, who decided, and the notice a page shows after an action.

Nothing here decides anything: the pages call the booking's services (`service`, `desk`,
`doors`, `customers`, `customer_records`) and only name and format what those return.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from fastapi import Request
from pydantic import ValidationError

from hallkey.booking import callers, service, staff
from hallkey.booking import repository as repo
from hallkey.booking.models import Resource, Venue
from hallkey.booking.office_schemas import DenyIn
from hallkey.booking.pages import kit
from hallkey.core.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from hallkey.booking.tokens import Principal

DEFAULT_ZONE = "Europe/Oslo"

NOTICES = {
    "approved": "Approved:",
    "denied": "Denied:",
    "cancelled": "Cancelled:",
    "moved": "Moved:",
    "opened": "The door is open:",
    "erased": "The customer's personal data is erased.",
}
"""What a page says after an action (post, redirect, get): `?done=<key>`."""


@dataclass(frozen=True)
class Place:
    """A venue as the pages name it (read in the session, shown after it)."""

    id: str
    name: str
    timezone: str

    @classmethod
    def of(cls, venue: Venue) -> Place:
        return cls(venue.id, venue.name, venue.timezone)


@dataclass(frozen=True)
class Bookable:
    """A resource as the pages name it, with its venue and doors."""

    id: str
    name: str
    venue_id: str
    door_ids: tuple[str, ...]

    @classmethod
    def of(cls, resource: Resource) -> Bookable:
        return cls(resource.id, resource.name, resource.venue_id, tuple(resource.door_ids))


@dataclass
class Places:
    """The tenant's venues and resources the staff member may see (a caretaker: its own)."""

    venues: dict[str, Place] = field(default_factory=dict)
    resources: dict[str, Bookable] = field(default_factory=dict)

    def zone(self, resource_id: str) -> str:
        """Returns the time zone of the resource's venue (Oslo for one not known)."""
        resource = self.resources.get(resource_id)
        venue = self.venues.get(resource.venue_id) if resource is not None else None
        return venue.timezone if venue is not None else DEFAULT_ZONE

    def venue_zone(self, venue_id: str | None) -> str:
        """Returns the zone of `venue_id`, else of the first venue (Oslo when none)."""
        venue = self.venues.get(venue_id or "")
        if venue is None and self.venues:
            venue = next(iter(self.venues.values()))
        return venue.timezone if venue is not None else DEFAULT_ZONE

    def resource_name(self, resource_id: str) -> str:
        resource = self.resources.get(resource_id)
        return resource.name if resource is not None else resource_id

    def venue_name(self, resource_id: str) -> str:
        resource = self.resources.get(resource_id)
        venue = self.venues.get(resource.venue_id) if resource is not None else None
        return venue.name if venue is not None else ""


def places(session: Session, principal: Principal, *also: str) -> Places:
    """Returns what `principal` may see of the tenant's venues and active resources (and the
    resources `also`, e.g. one taken out of use that a reservation still names)."""
    found = Places()
    rows = sorted(repo.resources_with_venues(session, principal.tenant_id), key=_by_venue)
    for resource, venue in rows:
        if principal.may_see_venue(venue.id):
            found.venues.setdefault(venue.id, Place.of(venue))
            found.resources[resource.id] = Bookable.of(resource)
    for resource_id in also:
        if resource_id in found.resources:
            continue
        extra = repo.resource(session, resource_id)
        if extra is not None and extra.tenant_id == principal.tenant_id:
            found.resources[resource_id] = Bookable.of(extra)
            venue_of = repo.venue(session, extra.venue_id)
            if venue_of is not None:
                found.venues.setdefault(venue_of.id, Place.of(venue_of))
    return found


def _by_venue(row: tuple[Resource, Venue]) -> tuple[str, str, str]:
    resource, venue = row
    return venue.name, venue.id, resource.name


def local_moment(day: str, clock: str, zone: str, field_name: str) -> datetime:
    """Returns the UTC moment of a date (`YYYY-MM-DD`) and a time (`HH:MM`) on the venue's
    clock; raises InvalidInput naming `field_name` (the date's field, `date`, when the date is
    bad)."""
    try:
        on = date.fromisoformat(day.strip())
    except ValueError:
        raise InvalidInput("Not a valid date.", field="date") from None
    try:
        at = time.fromisoformat(clock.strip())
    except ValueError:
        raise InvalidInput("Not a valid time.", field=field_name) from None
    return datetime.combine(on, at, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def local_day(value: str | None, zone: str, field_name: str, *, after: int = 0) -> datetime | None:
    """Returns the start (UTC) of a local date typed in a filter (or of the day `after` days
    later: a day is 23 or 25 hours when the clocks change), None for an empty one."""
    if not value:
        return None
    try:
        on = date.fromisoformat(value) + timedelta(days=after)
    except ValueError:
        raise InvalidInput("Not a valid date.", field=field_name) from None
    return datetime.combine(on, time(0), tzinfo=ZoneInfo(zone)).astimezone(UTC)


def decided_by(session: Session, tenant_id: str, actor: str) -> str:
    """Returns who made a decision as people read it: a staff member's username, else the
    actor as recorded (`token:<id>`)."""
    kind, _, actor_id = actor.partition(":")
    if kind == "staff":
        try:
            return staff.get_staff(session, tenant_id, actor_id).username
        except NotFound:
            return actor
    return actor


def notice(request: Request, session: Session, principal: Principal) -> str:
    """Returns the notice of the action just done (`?done=` and the reservation's `?id=`),
    naming the reservation by its resource and ref; "" when there is none."""
    done = request.query_params.get("done", "")
    if done not in NOTICES:
        return ""
    said = kit.text(request, NOTICES[done])
    reservation_id = request.query_params.get("id")
    if not reservation_id:
        return said
    try:
        reservation = service.get_reservation(session, principal.tenant_id, reservation_id)
        callers.check_venue(session, principal, reservation.resource_id)
    except NotFound:
        return said
    resource = repo.resource(session, reservation.resource_id)
    name = resource.name if resource is not None else ""
    return f"{said} {name} ({reservation.ref})"


def deny_reason(request: Request, form: dict[str, str]) -> tuple[str, str]:
    """Returns the reason a denial's form gives (the customer is told it) and what is wrong
    with it, in the request's language (`""`: nothing)."""
    reason = form.get("reason", "").strip()
    if not reason:
        return reason, kit.text(request, "Write the reason the customer will be told.")
    try:
        DenyIn(reason=reason)
    except ValidationError as exc:
        return reason, kit.field_errors(request, exc).get("reason", "")
    return reason, ""
