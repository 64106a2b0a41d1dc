"""An applicant's two e-mails: the receipt (with the link to their application) and the
result of the round (what they got, and which wishes were declined and why).

Each is a `round_email` job enqueued in the transaction that caused it (the outbox), and sent
through the context's `MessageSender` under the delivery id `<application>_<kind>`: a retried
or repeated job never sends a second e-mail. The receipt's link holds the applicant's key,
sealed in the job's payload. Only ids are logged.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from hallkey.booking import emails
from hallkey.booking import repository as repo
from hallkey.booking.models import Resource
from hallkey.booking.rounds_email_texts import RoundLetter, SlotLine, render
from hallkey.booking.rounds_models import Round, RoundAllocation, RoundApplication, RoundWish
from hallkey.core.jobs import GiveUp, JobRun, RetryLater
from hallkey.core.messaging import OutgoingMessage, SendError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from hallkey.booking.context import BookingContext

log = logging.getLogger(__name__)

ROUND_EMAIL = "round_email"
RECEIPT = "receipt"
RESULT = "result"


def delivery_id(application_id: str, kind: str) -> str:
    """Returns the idempotency key of an applicant's e-mail of this kind."""
    return f"{application_id}_{kind}"


def enqueue_receipt(
    ctx: BookingContext, session: Session, application_id: str, link_sealed: str
) -> None:
    """Adds the receipt of a new application to the transaction."""
    payload = {"application_id": application_id, "kind": RECEIPT, "link_sealed": link_sealed}
    ctx.jobs.enqueue(session, ROUND_EMAIL, payload)


def enqueue_result(ctx: BookingContext, session: Session, application_id: str) -> None:
    """Adds the result e-mail of an application to the transaction."""
    ctx.jobs.enqueue(session, ROUND_EMAIL, {"application_id": application_id, "kind": RESULT})


def _letter(
    ctx: BookingContext, session: Session, application: RoundApplication, payload: dict[str, Any]
) -> RoundLetter:
    round_ = session.get(Round, application.round_id)
    tenant = repo.tenant(session, application.tenant_id)
    assert round_ is not None and tenant is not None
    rows = session.execute(
        select(RoundWish, RoundAllocation)
        .outerjoin(RoundAllocation, RoundAllocation.wish_id == RoundWish.id)
        .where(RoundWish.application_id == application.id)
        .order_by(RoundWish.priority, RoundWish.id)
    ).all()
    resource_ids = {w.resource_id for w, _ in rows} | {a.resource_id for _, a in rows if a}
    names = {
        resource_id: name
        for resource_id, name in session.execute(
            select(Resource.id, Resource.name).where(Resource.id.in_(sorted(resource_ids)))
        )
    }
    wished = tuple(
        SlotLine(names[w.resource_id], w.weekday, w.start_time, w.end_time) for w, _ in rows
    )
    allocated = tuple(
        SlotLine(
            names[a.resource_id],
            a.weekday,
            a.start_time,
            a.end_time,
            skipped=tuple(date.fromisoformat(d) for d in a.skipped_dates),
        )
        for _, a in rows
        if a is not None
    )
    declined = tuple(
        SlotLine(names[w.resource_id], w.weekday, w.start_time, w.end_time, w.decline_reason)
        for w, a in rows
        if a is None
    )
    link = payload.get("link_sealed")
    return RoundLetter(
        kind=str(payload["kind"]),
        locale=application.locale,
        tenant=tenant.name,
        round_name=round_.name,
        organisation=application.organisation,
        period_from=round_.period_from,
        period_to=round_.period_to,
        link=ctx.box.open(str(link)) if link else None,
        wished=wished,
        allocated=allocated,
        declined=declined,
    )


def run_round_email(ctx: BookingContext, job: JobRun) -> None:
    """Sends one applicant's receipt or result (once per delivery id)."""
    application_id = str(job.payload.get("application_id", ""))
    kind = job.payload.get("kind")
    if kind not in (RECEIPT, RESULT):
        raise GiveUp("malformed round_email job")
    with ctx.database.read() as session:
        application = session.get(RoundApplication, application_id)
        if application is None or not application.email:
            # Gone, or its applicant erased: there is nobody to tell.
            log.info("round_email %s %s: nobody to tell", application_id, kind)
            return
        to = application.email
        rendered = render(_letter(ctx, session, application, dict(job.payload)))
        tenant = repo.tenant(session, application.tenant_id)
        sender = emails.sender_of(ctx, tenant) if tenant else ctx.settings.booking_email_from
    message = OutgoingMessage(
        delivery_id=delivery_id(application_id, str(kind)),
        channel="email",
        to=to,
        sender=sender,
        subject=rendered.subject,
        body=rendered.text,
    )
    try:
        ctx.sender.send(message)
    except SendError as exc:
        if exc.retryable:
            raise RetryLater(f"email: {exc}") from None
        raise GiveUp(f"email refused: {exc}") from None
    log.info("round_email %s %s sent", application_id, kind)
