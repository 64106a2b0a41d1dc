"""Whether a booking was used: computed from the door events stored by ref, never stored.

A confirmed reservation with a key (`access_operation` `code`) is `used` once a door event of a
use kind (`USE_KINDS`) for it lies in its access window, `no_show` when that window has ended
without one, and `unknown` before. Computing it on read (two index reads: reservations by
(resource_id, start_at), events by (ref, at)) means a late event corrects it at once, with no
job and no flag to keep right. A public event (`unlock`: the doors stand open, nobody needs a
key) and anything not confirmed is `not_applicable`.

Series: the hub knows one ref for a whole series, so an event under a series ref belongs to
the occurrence whose access window holds its time. `refs_of` lists, per reservation, every ref
its door events can carry (its own, and its series'); only events inside a reservation's own
window count for it. The reservation view (`reservation_views.reservation_view`) reads usage
from the events it shows, which for an occurrence are the series' events in its window.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from hallkey.booking import domain
from hallkey.booking.models import AccessEvent, Customer, Reservation, Resource, Venue
from hallkey.booking.series_models import Series
from hallkey.booking.usage_schemas import (
    NoShowOut,
    ResourceUsageOut,
    Tally,
    Usage,
    UsageOut,
    UsageTotals,
)
from hallkey.core.errors import InvalidInput, NotFound

USE_KINDS: frozenset[str] = frozenset({"access_granted", "door_pulsed"})
"""Door events that show a booking was used: a key let in at a keypad or reader
(`access_granted`), or the door pulsed open for it (a URL key, an SMS, the portal's "open").
A refused try (`access_denied`) is not use, nor a scheduled `unlocked`/`locked` (a public
event's doors open whether anyone comes)."""

MAX_SPAN = timedelta(days=366)
_CHUNK = 500  # refs per IN list: well under every database's parameter limit


class Booked(Protocol):
    """What usage needs of a reservation: an ORM row, or the columns the report selects."""

    @property
    def id(self) -> str: ...
    @property
    def tenant_id(self) -> str: ...
    @property
    def ref(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def resource_id(self) -> str: ...
    @property
    def customer_id(self) -> str: ...
    @property
    def start_at(self) -> datetime: ...
    @property
    def end_at(self) -> datetime: ...
    @property
    def series_id(self) -> str | None: ...


_BOOKED_COLUMNS = (
    Reservation.id,
    Reservation.tenant_id,
    Reservation.ref,
    Reservation.status,
    Reservation.resource_id,
    Reservation.customer_id,
    Reservation.start_at,
    Reservation.end_at,
    Reservation.series_id,
)


def window_of(reservation: Booked, resource: Resource) -> domain.Frame:
    """Returns the reservation's access window: its time widened by the resource's minutes."""
    return domain.access_window(
        domain.Frame(reservation.start_at, reservation.end_at),
        resource.access_before_minutes,
        resource.access_after_minutes,
    )


def usage_state(
    *,
    status: str,
    operation: str,
    window: domain.Frame,
    uses: Iterable[datetime],
    now: datetime,
) -> Usage:
    """Returns the usage of a booking from its status, its access operation and window, and
    the times of the use events under its refs."""
    if status != "confirmed" or operation != "code":
        return "not_applicable"
    if any(window.start <= at < window.end for at in uses):
        return "used"
    return "no_show" if window.end <= now else "unknown"


def _series_refs(session: Session, reservations: Sequence[Booked]) -> dict[str, str]:
    """Returns the series ref of each occurrence among `reservations` (by reservation id)."""
    series_ids = sorted({r.series_id for r in reservations if r.series_id is not None})
    refs: dict[str, str] = {}
    for i in range(0, len(series_ids), _CHUNK):
        chunk = series_ids[i : i + _CHUNK]
        rows = session.execute(select(Series.id, Series.ref).where(Series.id.in_(chunk)))
        refs.update({row[0]: row[1] for row in rows})
    return {
        r.id: refs[r.series_id]
        for r in reservations
        if r.series_id is not None and r.series_id in refs
    }


def refs_of(session: Session, reservations: Sequence[Booked]) -> dict[str, list[str]]:
    """Returns every ref a door event about each reservation can carry (by reservation id)."""
    series = _series_refs(session, reservations)
    return {r.id: [r.ref, series[r.id]] if r.id in series else [r.ref] for r in reservations}


def use_times(
    session: Session, tenant_id: str, refs: Iterable[str], start: datetime, end: datetime
) -> dict[str, list[datetime]]:
    """Returns the times of the use events under each ref within `[start, end)` (by the
    (ref, at) index)."""
    wanted = sorted(set(refs))
    found: dict[str, list[datetime]] = defaultdict(list)
    for i in range(0, len(wanted), _CHUNK):
        # The tenant is checked here, not in SQL: given it, SQLite seeks the primary key's
        # tenant prefix and walks every event of the tenant instead of the (ref, at) index.
        rows = session.execute(
            select(AccessEvent.ref, AccessEvent.at, AccessEvent.tenant_id).where(
                AccessEvent.ref.in_(wanted[i : i + _CHUNK]),
                AccessEvent.at >= start,
                AccessEvent.at < end,
                AccessEvent.kind.in_(USE_KINDS),
            )
        )
        for ref, at, owner in rows:
            if ref is not None and owner == tenant_id:
                found[ref].append(at)
    return found


def usages(
    session: Session,
    reservations: Sequence[Booked],
    resources: dict[str, Resource],
    now: datetime,
) -> dict[str, Usage]:
    """Returns the usage of each reservation (by id); `resources` holds theirs by id."""
    if not reservations:
        return {}
    refs = refs_of(session, reservations)
    windows = {r.id: window_of(r, resources[r.resource_id]) for r in reservations}
    times = use_times(
        session,
        reservations[0].tenant_id,
        (ref for listed in refs.values() for ref in listed),
        min(w.start for w in windows.values()),
        max(w.end for w in windows.values()),
    )
    return {
        r.id: usage_state(
            status=r.status,
            operation=resources[r.resource_id].access_operation,
            window=windows[r.id],
            uses=(at for ref in refs[r.id] for at in times.get(ref, ())),
            now=now,
        )
        for r in reservations
    }


def _add(tally: Tally, minutes: int) -> None:
    tally.count += 1
    tally.minutes += minutes
    tally.hours = round(tally.minutes / 60, 2)


def _customer_label(customer: Customer | None) -> str | None:
    if customer is None or customer.erased_at is not None:
        return None
    if customer.kind == "organisation" and customer.organisation:
        return customer.organisation
    return customer.name


def usage_report(
    session: Session,
    *,
    tenant_id: str,
    venue_ids: frozenset[str] | None,
    venue_id: str,
    start: datetime,
    end: datetime,
    now: datetime,
    with_customers: bool,
) -> UsageOut:
    """Returns the usage of a venue's confirmed bookings starting in `[start, end)`, per
    resource and in total, with the no-shows. `venue_ids`: the venues the caller is bound to
    (None: all); another venue is 404, as an unknown one."""
    if end <= start:
        raise InvalidInput("to must be after from", field="to")
    if end - start > MAX_SPAN:
        raise InvalidInput("to must be at most 366 days after from", field="to")
    venue = session.get(Venue, venue_id)
    if venue is None or venue.tenant_id != tenant_id:
        raise NotFound("unknown venue", field="venue")
    if venue_ids is not None and venue_id not in venue_ids:
        raise NotFound("unknown venue", field="venue")
    resources = {
        r.id: r
        for r in session.scalars(
            select(Resource).where(Resource.venue_id == venue_id).order_by(Resource.name)
        )
    }
    reservations: Sequence[Booked] = []
    if resources:
        # Index (resource_id, start_at, end_at): one range read per resource; columns, not
        # ORM objects (a year of a venue is tens of thousands of bookings).
        reservations = session.execute(
            select(*_BOOKED_COLUMNS)
            .where(
                Reservation.resource_id.in_(list(resources)),
                Reservation.start_at >= start,
                Reservation.start_at < end,
                Reservation.status == "confirmed",
            )
            .order_by(Reservation.start_at, Reservation.id)
        ).all()
    states = usages(session, reservations, resources, now)
    per_resource = {
        rid: ResourceUsageOut(resource_id=rid, name=r.name) for rid, r in resources.items()
    }
    total = UsageTotals()
    no_shows: list[NoShowOut] = []
    customers: dict[str, Customer] = {}
    if with_customers:
        ids = sorted({r.customer_id for r in reservations if states[r.id] == "no_show"})
        customers = {c.id: c for c in session.scalars(select(Customer).where(Customer.id.in_(ids)))}
    for reservation in reservations:
        minutes = int((reservation.end_at - reservation.start_at).total_seconds() // 60)
        state = states[reservation.id]
        for totals in (per_resource[reservation.resource_id], total):
            _add(totals.booked, minutes)
            _add(getattr(totals, state), minutes)
        if state == "no_show":
            no_shows.append(
                NoShowOut(
                    id=reservation.id,
                    ref=reservation.ref,
                    resource_id=reservation.resource_id,
                    resource=resources[reservation.resource_id].name,
                    start=reservation.start_at,
                    end=reservation.end_at,
                    customer=_customer_label(customers.get(reservation.customer_id))
                    if with_customers
                    else None,
                )
            )
    return UsageOut(
        venue_id=venue_id,
        from_=start,
        to=end,
        resources=list(per_resource.values()),
        total=total,
        no_shows=no_shows,
    )
