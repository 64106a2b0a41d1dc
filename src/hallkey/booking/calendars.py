"""iCalendar feeds: a resource's taken time (public, no people) and a customer's own bookings.

Both list the reservations starting from `PAST` ago to `AHEAD` from now, one VEVENT each with
a stable UID that is a keyed digest of the reservation's id (not its ref, which reaches the
doors, and not guessable), SEQUENCE = the reservation's version and DTSTAMP / LAST-MODIFIED =
its last change, so the same state always gives the same bytes (and ETag). A requested booking
is TENTATIVE, a confirmed one CONFIRMED, a cancelled or denied one stays in the feed as
CANCELLED so a subscribed calendar drops it. Times are UTC.

The public feed says only "Opptatt" / "Busy". A customer's feed is reached by a secret token
(256 random bits) stored only as its SHA-256; making a new one replaces the old. It shows the
resource, venue and ref, never a code or a key: a feed URL is shared with calendar apps.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal

from icalendar import Calendar, Event
from sqlalchemy import select
from sqlalchemy.orm import Session

from hallkey.booking import repository as repo
from hallkey.booking.calendar_models import CalendarFeed
from hallkey.booking.models import Customer, Reservation, Resource, Venue
from hallkey.core.errors import NotFound
from hallkey.core.ids import new_id
from hallkey.core.security import derive_key, hash_secret, keyed_digest

if TYPE_CHECKING:
    from hallkey.booking.context import BookingContext

PRODID = "-//hallkey//booking calendar//EN"
UID_DOMAIN = "hallkey.booking"
PAST = timedelta(days=31)
AHEAD = timedelta(days=366)
MAX_TOKEN = 128
Lang = Literal["nb", "en"]
BUSY: dict[Lang, str] = {"nb": "Opptatt", "en": "Busy"}
_STATUS = {"requested": "TENTATIVE", "confirmed": "CONFIRMED"}


@dataclass(frozen=True)
class Feed:
    """An iCalendar document with what a cache needs to know about it."""

    body: bytes
    etag: str
    last_modified: datetime | None


def _uid_key(ctx: BookingContext, purpose: str) -> bytes:
    return derive_key(ctx.settings.master_secret, f"booking calendar uid {purpose}")


def _event(
    uid: str, reservation: Reservation, summary: str, location: str | None, note: str | None
) -> Event:
    event = Event()
    event.add("uid", uid)
    event.add("sequence", reservation.version)
    event.add("dtstamp", reservation.updated_at.astimezone(UTC))
    event.add("last-modified", reservation.updated_at.astimezone(UTC))
    event.add("dtstart", reservation.start_at.astimezone(UTC))
    event.add("dtend", reservation.end_at.astimezone(UTC))
    event.add("summary", summary)
    if location:
        event.add("location", location)
    if note:
        event.add("description", note)
    status = _STATUS.get(reservation.status)
    event.add("status", status or "CANCELLED")
    event.add("transp", "OPAQUE" if status else "TRANSPARENT")
    return event


def _feed(name: str, events: Sequence[Event], changed: Sequence[datetime]) -> Feed:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    calendar.add("x-published-ttl", "PT1H")
    for event in events:
        calendar.add_component(event)
    body: bytes = calendar.to_ical()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    return Feed(body=body, etag=etag, last_modified=max(changed) if changed else None)


def _window(now: datetime) -> tuple[datetime, datetime]:
    return now - PAST, now + AHEAD


def resource_feed(
    ctx: BookingContext, session: Session, tenant_id: str, resource_id: str, lang: Lang
) -> Feed:
    """Returns the public feed of a resource's taken time: no names, no refs."""
    resource = repo.resource(session, resource_id)
    if resource is None or resource.tenant_id != tenant_id:
        raise NotFound("unknown resource", field="resource_id")
    start, end = _window(ctx.clock.now())
    # Index (resource_id, start_at, end_at).
    reservations = list(
        session.scalars(
            select(Reservation)
            .where(
                Reservation.resource_id == resource.id,
                Reservation.start_at >= start,
                Reservation.start_at < end,
            )
            .order_by(Reservation.start_at, Reservation.id)
        )
    )
    key = _uid_key(ctx, "resource")
    events = [
        _event(f"{keyed_digest(key, r.id)[:32]}@{UID_DOMAIN}", r, BUSY[lang], None, None)
        for r in reservations
    ]
    return _feed(resource.name, events, [r.updated_at for r in reservations])


def customer_feed(ctx: BookingContext, session: Session, feed: CalendarFeed) -> Feed:
    """Returns a customer's own feed: their bookings with resource, venue and ref."""
    start, end = _window(ctx.clock.now())
    rows = session.execute(
        select(Reservation, Resource, Venue)
        .join(Resource, Resource.id == Reservation.resource_id)
        .join(Venue, Venue.id == Resource.venue_id)
        .where(
            # By the customer_id index: the customer is the tenant's (no tenant filter, which
            # would make SQLite walk the tenant's whole window instead).
            Reservation.customer_id == feed.customer_id,
            Reservation.start_at >= start,
            Reservation.start_at < end,
        )
        .order_by(Reservation.start_at, Reservation.id)
    ).all()
    key = _uid_key(ctx, "customer")
    events = [
        _event(
            f"{keyed_digest(key, r.id)[:32]}@{UID_DOMAIN}",
            r,
            resource.name,
            f"{venue.name}, {venue.address}" if venue.address else venue.name,
            f"Ref: {r.ref}",
        )
        for r, resource, venue in rows
    ]
    return _feed("hallkey", events, [r.updated_at for r, _, _ in rows])


def issue_feed(
    ctx: BookingContext, session: Session, tenant_id: str, customer_id: str, created_by: str
) -> tuple[str, CalendarFeed]:
    """Makes a new secret token for the customer's feed (the old one stops working); returns
    the token, shown once, and the feed."""
    customer = session.get(Customer, customer_id)
    if customer is None or customer.tenant_id != tenant_id or customer.erased_at is not None:
        raise NotFound("unknown customer", field="customer_id")
    token = secrets.token_urlsafe(32)
    now = ctx.clock.now()
    feed = session.scalars(
        select(CalendarFeed).where(CalendarFeed.customer_id == customer_id).with_for_update()
    ).first()
    if feed is None:
        feed = CalendarFeed(id=new_id("cal"), tenant_id=tenant_id, customer_id=customer_id)
        session.add(feed)
    feed.token_hash = hash_secret(token)
    feed.created_by = created_by
    feed.created_at = now
    session.flush()
    return token, feed


def feed_url(ctx: BookingContext, session: Session, tenant_id: str, token: str) -> str:
    """Returns the feed's URL on the tenant's first host name (or HALLKEY_BASE_URL)."""
    hostnames = sorted(repo.hostnames_of(session, tenant_id))
    base = f"https://{hostnames[0]}" if hostnames else ctx.settings.base_url.rstrip("/")
    return f"{base}/api/v1/calendar/{token}.ics"


def feed_by_token(session: Session, token: str) -> CalendarFeed | None:
    """Returns the live feed with this token (unique index on its hash); None for an unknown
    token or an erased customer's."""
    if not token or len(token) > MAX_TOKEN:
        return None
    feed = session.scalars(
        select(CalendarFeed).where(CalendarFeed.token_hash == hash_secret(token))
    ).first()
    if feed is None:
        return None
    customer = session.get(Customer, feed.customer_id)
    if customer is None or customer.erased_at is not None:
        return None
    return feed
