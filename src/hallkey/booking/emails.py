"""The booking system tells its customers itself: request received, confirmed or approved,
changed, denied (with the reason), cancelled — by email, with the reservation as `.ics`.

Each email is a `customer_email` job enqueued in the same transaction as the change that
caused it (the jobs table is the outbox), so it is sent if and only if the change commits.
The job reads the reservation when it runs, renders the email in the reservation's language
and hands it to the context's `MessageSender` under a delivery id made of the reservation,
the kind and the version: a retry, or a job run twice, never sends a second email. Nothing
about the person is logged, only ids.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from email.utils import parseaddr
from typing import TYPE_CHECKING

from hallkey.booking import email_texts, ics, prices
from hallkey.booking import repository as repo
from hallkey.booking.models import Reservation, Tenant
from hallkey.core.jobs import GiveUp, JobRun, RetryLater
from hallkey.core.messaging import Attachment, OutgoingMessage, SendError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from hallkey.booking.context import BookingContext

log = logging.getLogger(__name__)

CUSTOMER_EMAIL = "customer_email"
ICS_FILENAME = "reservation.ics"


def delivery_id(reservation_id: str, kind: str, version: int) -> str:
    """Returns the idempotency key of one email about one version of a reservation."""
    return f"{reservation_id}_{kind}_v{version}"


def sender_of(ctx: BookingContext, tenant: Tenant) -> str:
    """Returns the From of the tenant's emails: its own, else the process's."""
    return tenant.email_from or ctx.settings.booking_email_from


def organizer_address(ctx: BookingContext, tenant: Tenant) -> str:
    """Returns the bare address of the tenant's sender (a calendar entry's organizer)."""
    sender = sender_of(ctx, tenant)
    return parseaddr(sender)[1] or sender


def enqueue(ctx: BookingContext, session: Session, reservation: Reservation, kind: str) -> None:
    """Adds the email of this kind about the reservation (as it is now) to the transaction."""
    if kind not in email_texts.KINDS:
        raise ValueError(f"unknown email kind {kind}")
    payload = {"reservation_id": reservation.id, "kind": kind, "version": reservation.version}
    ctx.jobs.enqueue(session, CUSTOMER_EMAIL, payload)


@dataclass(frozen=True)
class _Prepared:
    message: OutgoingMessage
    reservation_id: str
    kind: str


def _prepare(ctx: BookingContext, reservation_id: str, kind: str, version: int) -> _Prepared | None:
    with ctx.database.read() as session:
        found = repo.placed_reservation(session, reservation_id)
        to = found.reservation.contact_email if found is not None else None
        if found is None or to is None:
            return None  # gone, or the customer was erased: there is nobody to tell
        reservation, resource, venue, tenant = found
        place = ", ".join(part for part in (venue.name, venue.address) if part)
        facts = email_texts.EmailFacts(
            kind=kind,
            locale=reservation.locale,
            tenant=tenant.name,
            resource=resource.name,
            place=place,
            start=reservation.start_at,
            end=reservation.end_at,
            timezone=venue.timezone,
            ref=reservation.ref,
            price=prices.stored_quote(reservation),
            reason=reservation.decision_reason,
        )
        entry = ics.CalendarEntry(
            ref=reservation.ref,
            version=version,
            status=_calendar_status(kind, reservation.status),
            start=reservation.start_at,
            end=reservation.end_at,
            summary=resource.name,
            location=place,
            organizer_name=tenant.name,
            organizer_email=organizer_address(ctx, tenant),
            attendee_email=to,
            stamp=ctx.clock.now(),
        )
        sender = sender_of(ctx, tenant)
    rendered = email_texts.render(facts)
    message = OutgoingMessage(
        delivery_id=delivery_id(reservation_id, kind, version),
        channel="email",
        to=to,
        sender=sender,
        subject=rendered.subject,
        body=rendered.text,
        html=rendered.html,
        attachments=(
            Attachment(
                filename=ICS_FILENAME,
                content_type=f"text/calendar; method={ics.method_of(entry.status)}",
                data=ics.reservation_ics(entry),
            ),
        ),
    )
    return _Prepared(message=message, reservation_id=reservation_id, kind=kind)


def _calendar_status(kind: str, status: str) -> str:
    """Returns the status the calendar entry of this email shows.

    The email's kind decides, not the reservation's status now: a "received" email sent late,
    after the request was already approved, still describes a request (a later email with a
    higher SEQUENCE brings the calendar up to date).
    """
    return {
        "received": "requested",
        "confirmed": "confirmed",
        "approved": "confirmed",
        "denied": "denied",
        "cancelled": "cancelled",
    }.get(kind, status)


def run_customer_email(ctx: BookingContext, job: JobRun) -> None:
    """Sends one customer email (once per delivery id)."""
    reservation_id = str(job.payload.get("reservation_id", ""))
    kind = str(job.payload.get("kind", ""))
    version = job.payload.get("version")
    if kind not in email_texts.KINDS or not isinstance(version, int):
        raise GiveUp("malformed customer_email job")
    prepared = _prepare(ctx, reservation_id, kind, version)
    if prepared is None:
        log.info("customer_email %s %s: nobody to tell", reservation_id, kind)
        return
    try:
        ctx.sender.send(prepared.message)
    except SendError as exc:
        if exc.retryable:
            raise RetryLater(f"email: {exc}") from None
        raise GiveUp(f"email refused: {exc}") from None
    log.info("customer_email %s %s v%d sent", reservation_id, kind, version)
    # Copies past retention go with the sends (no recurring job: there is nothing to purge
    # while nothing is sent), at most once an hour: a purge walks the whole folder.
    now = ctx.clock.now()
    if not ctx.outbox_purge.due(now):
        return
    retention = timedelta(days=ctx.settings.booking_outbox_retention_days)
    removed = ctx.sender.purge_older_than(now - retention)
    if removed:
        log.info("%d customer emails past retention deleted from the outbox", removed)
