"""A reservation as an iCalendar (RFC 5545 / iTIP RFC 5546) attachment of the customer's emails.

One event per reservation, with a UID made from its `ref` (stable across every email about
it) and SEQUENCE = the reservation's version, so a calendar replaces the older copy with the
newer one. A confirmed or requested booking is sent as METHOD:REQUEST (STATUS CONFIRMED or
TENTATIVE); a cancelled or denied one as METHOD:CANCEL with STATUS:CANCELLED. Times are UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from icalendar import Calendar, Event, vCalAddress, vText

PRODID = "-//hallkey//booking//EN"
UID_DOMAIN = "hallkey.booking"
_STATUS = {"confirmed": "CONFIRMED", "requested": "TENTATIVE"}


@dataclass(frozen=True)
class CalendarEntry:
    """What the attachment says about a reservation (its contact is the customer's own)."""

    ref: str
    version: int
    status: str
    start: datetime
    end: datetime
    summary: str
    location: str
    organizer_name: str
    organizer_email: str
    attendee_email: str
    stamp: datetime


def uid_of(ref: str) -> str:
    """Returns the calendar UID of a reservation: the same for every email about it."""
    return f"{ref}@{UID_DOMAIN}"


def method_of(status: str) -> str:
    """Returns the iTIP method of an entry with this status: REQUEST, or CANCEL once it is
    cancelled or denied."""
    return "REQUEST" if status in _STATUS else "CANCEL"


def reservation_ics(entry: CalendarEntry) -> bytes:
    """Returns the reservation as an iCalendar file (`text/calendar`)."""
    cancelled = method_of(entry.status) == "CANCEL"
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", method_of(entry.status))
    event = Event()
    event.add("uid", uid_of(entry.ref))
    event.add("sequence", entry.version)
    event.add("dtstamp", entry.stamp.astimezone(UTC))
    event.add("dtstart", entry.start.astimezone(UTC))
    event.add("dtend", entry.end.astimezone(UTC))
    event.add("summary", entry.summary)
    event.add("location", entry.location)
    event.add("status", "CANCELLED" if cancelled else _STATUS[entry.status])
    organizer = vCalAddress(f"mailto:{entry.organizer_email}")
    organizer.params["cn"] = vText(entry.organizer_name)
    event.add("organizer", organizer)
    attendee = vCalAddress(f"mailto:{entry.attendee_email}")
    attendee.params["role"] = vText("REQ-PARTICIPANT")
    event.add("attendee", attendee)
    calendar.add_component(event)
    data: bytes = calendar.to_ical()
    return data
