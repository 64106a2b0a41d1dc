"""The customer's emails about a series: one email per change of the whole series (received,
confirmed, approved, denied, cancelled), never one per occurrence.

As for a reservation (`emails`), each is a job enqueued with the change, sent once per
delivery id (series, kind, version). The `.ics` holds one VEVENT per occurrence concerned,
each with its occurrence's UID and SEQUENCE (the same UID a later email about that one
occurrence uses, so a calendar keeps them in step): METHOD:REQUEST with the live occurrences,
or METHOD:CANCEL with the cancelled or denied ones.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vCalAddress, vText

from hallkey.booking import email_texts, emails, ics
from hallkey.booking import repository as repo
from hallkey.booking import series_store as store
from hallkey.booking.models import Reservation
from hallkey.booking.series_models import Series
from hallkey.core.jobs import GiveUp, JobRun, RetryLater
from hallkey.core.messaging import Attachment, OutgoingMessage, SendError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from hallkey.booking.context import BookingContext

log = logging.getLogger(__name__)

SERIES_EMAIL = "series_email"
ICS_FILENAME = "series.ics"
KINDS = ("received", "confirmed", "approved", "denied", "cancelled")
_CANCELLING = ("denied", "cancelled")
_LIVE = ("requested", "confirmed")
_TIMES = {"nb": "{days} kl. {start}{dash}{end}, {first} {dash} {last} ({count} ganger)",
          "en": "{days} {start}{dash}{end}, {first} {dash} {last} ({count} times)"}  # fmt: skip


def enqueue(ctx: BookingContext, session: Session, row: Series, kind: str) -> None:
    """Adds the email of this kind about the series (as it is now) to the transaction."""
    if kind not in KINDS:
        raise ValueError(f"unknown series email kind {kind}")
    payload = {"series_id": row.id, "kind": kind, "version": row.version}
    ctx.jobs.enqueue(session, SERIES_EMAIL, payload)


@dataclass(frozen=True)
class _Facts:
    to: str
    facts: email_texts.EmailFacts
    entries: list[ics.CalendarEntry]
    sender: str


def when_text(row: Series, occurrences: list[Reservation], timezone: str) -> str:
    """Returns the series' days and times as people write them, with its first and last date
    and how many times it meets."""
    locale = row.locale if row.locale in ("nb", "en") else "nb"
    days = ", ".join(email_texts.weekday_name(day, locale) for day in row.weekdays)
    if not occurrences:
        return days
    zone = ZoneInfo(timezone)
    return _TIMES[locale].format(
        days=days,
        start=row.start_time,
        end=row.end_time,
        dash=email_texts.DASH,
        first=email_texts.day_text(occurrences[0].start_at.astimezone(zone), locale),
        last=email_texts.day_text(occurrences[-1].start_at.astimezone(zone), locale),
        count=len(occurrences),
    )


def _read(ctx: BookingContext, series_id: str, kind: str) -> _Facts | None:
    with ctx.database.read() as session:
        row = store.series(session, series_id)
        if row is None or row.contact_email is None:
            return None  # gone, or the customer was erased: there is nobody to tell
        resource = repo.resource(session, row.resource_id)
        assert resource is not None
        venue = repo.venue(session, resource.venue_id)
        tenant = repo.tenant(session, row.tenant_id)
        assert venue is not None and tenant is not None
        wanted = _CANCELLING if kind in _CANCELLING else _LIVE
        concerned = [o for o in store.occurrences(session, row.id) if o.status in wanted]
        place = ", ".join(part for part in (venue.name, venue.address) if part)
        status = (
            "cancelled"
            if kind in _CANCELLING
            else ("requested" if kind == "received" else "confirmed")
        )
        entries = [
            ics.CalendarEntry(
                ref=o.ref,
                version=o.version,
                status=status,
                start=o.start_at,
                end=o.end_at,
                summary=resource.name,
                location=place,
                organizer_name=tenant.name,
                organizer_email=emails.organizer_address(ctx, tenant),
                attendee_email=row.contact_email,
                stamp=ctx.clock.now(),
            )
            for o in concerned
        ]
        first = concerned[0] if concerned else None
        facts = email_texts.EmailFacts(
            kind=kind,
            locale=row.locale,
            tenant=tenant.name,
            resource=resource.name,
            place=place,
            start=first.start_at if first else row.created_at,
            end=first.end_at if first else row.created_at,
            timezone=venue.timezone,
            ref=row.ref,
            reason=row.decision_reason,
            when=when_text(row, concerned, venue.timezone),
        )
        return _Facts(
            to=row.contact_email,
            facts=facts,
            entries=entries,
            sender=emails.sender_of(ctx, tenant),
        )


def series_ics(entries: list[ics.CalendarEntry], method: str) -> bytes:
    """Returns the occurrences as one iCalendar file: one VEVENT each."""
    calendar = Calendar()
    calendar.add("prodid", ics.PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", method)
    for entry in entries:
        event = Event()
        event.add("uid", ics.uid_of(entry.ref))
        event.add("sequence", entry.version)
        event.add("dtstamp", entry.stamp.astimezone(UTC))
        event.add("dtstart", entry.start.astimezone(UTC))
        event.add("dtend", entry.end.astimezone(UTC))
        event.add("summary", entry.summary)
        event.add("location", entry.location)
        event.add(
            "status",
            {"requested": "TENTATIVE", "confirmed": "CONFIRMED"}.get(entry.status, "CANCELLED"),
        )
        organizer = vCalAddress(f"mailto:{entry.organizer_email}")
        organizer.params["cn"] = vText(entry.organizer_name)
        event.add("organizer", organizer)
        attendee = vCalAddress(f"mailto:{entry.attendee_email}")
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        event.add("attendee", attendee)
        calendar.add_component(event)
    data: bytes = calendar.to_ical()
    return data


def run_series_email(ctx: BookingContext, job: JobRun) -> None:
    """Sends one email about a series (once per delivery id)."""
    series_id = str(job.payload.get("series_id", ""))
    kind = str(job.payload.get("kind", ""))
    version = job.payload.get("version")
    if kind not in KINDS or not isinstance(version, int):
        raise GiveUp("malformed series_email job")
    read = _read(ctx, series_id, kind)
    if read is None:
        log.info("series_email %s %s: nobody to tell", series_id, kind)
        return
    rendered = email_texts.render(read.facts)
    method = "CANCEL" if kind in _CANCELLING else "REQUEST"
    message = OutgoingMessage(
        delivery_id=f"{series_id}_{kind}_v{version}",
        channel="email",
        to=read.to,
        sender=read.sender,
        subject=rendered.subject,
        body=rendered.text,
        html=rendered.html,
        attachments=(
            Attachment(
                filename=ICS_FILENAME,
                content_type=f"text/calendar; method={method}",
                data=series_ics(read.entries, method),
            ),
        ),
    )
    try:
        ctx.sender.send(message)
    except SendError as exc:
        if exc.retryable:
            raise RetryLater(f"email: {exc}") from None
        raise GiveUp(f"email refused: {exc}") from None
    log.info("series_email %s %s v%d sent", series_id, kind, version)
    retention = timedelta(days=ctx.settings.booking_outbox_retention_days)
    ctx.sender.purge_older_than(ctx.clock.now() - retention)
