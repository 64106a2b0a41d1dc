"""Publishing a round: each allocation becomes a confirmed weekly series over the round's
period, with its one key (`series.create_series`, `on_conflict: "skip"`: dates already taken
are left out and reported), then each applicant gets one e-mail with what they got and what
was declined, and why.

Safe halfway and idempotent: every allocation is published in a transaction of its own, under
a lock on its row, and remembers its series; a failed one keeps its error and the rest go on.
Publishing again makes only the series still missing. An applicant's result is queued once
(`result_queued_at`), when every allocation of theirs has its series; the round is published
when every allocation has.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from hallkey.booking import domain, rounds, rounds_emails, rounds_views, series
from hallkey.booking import repository as repo
from hallkey.booking.models import Reservation
from hallkey.booking.rounds_models import Round, RoundAllocation, RoundApplication, RoundWish
from hallkey.booking.rounds_schemas import PublishedOut, PublishFailedOut, PublishOut
from hallkey.booking.schemas import CustomerIn
from hallkey.booking.series_schemas import SeriesCreate
from hallkey.core.errors import AppError, Conflict

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from hallkey.booking.context import BookingContext

log = logging.getLogger(__name__)

HOLDING = ("requested", "confirmed")


def series_minutes(session: Session, series_id: str) -> int:
    """Returns the minutes of a series' occurrences still held (by the series_id index)."""
    frames = session.execute(
        select(Reservation.start_at, Reservation.end_at).where(
            Reservation.series_id == series_id, Reservation.status.in_(HOLDING)
        )
    ).all()
    return sum(int((end - start) / timedelta(minutes=1)) for start, end in frames)


def _start(ctx: BookingContext, tenant_id: str, round_id: str) -> list[str]:
    """Checks the round can be published, marks it begun; returns the allocations to do."""
    with ctx.database.transaction() as session:
        round_ = rounds.get_round(session, tenant_id, round_id, lock=True)
        now = ctx.clock.now()
        if rounds.status_of(round_, now) == "open":
            raise Conflict("the round is open until its deadline", code="round_open")
        undecided = session.scalars(
            select(RoundWish.id)
            .where(RoundWish.round_id == round_.id, RoundWish.status == rounds.WISHED)
            .order_by(RoundWish.id)
        ).all()
        if undecided:
            raise Conflict(
                f"allocate or decline every wish first: {', '.join(undecided)}",
                code="wishes_undecided",
                field="wishes",
            )
        if round_.publish_started_at is None:
            round_.publish_started_at = now
        return list(
            session.scalars(
                select(RoundAllocation.id)
                .where(RoundAllocation.round_id == round_.id, RoundAllocation.series_id.is_(None))
                .order_by(RoundAllocation.id)
            ).all()
        )


def _series_data(
    session: Session, round_: Round, allocation: RoundAllocation, today: date
) -> SeriesCreate:
    application = session.get(RoundApplication, allocation.application_id)
    assert application is not None
    # A series starts today at the earliest: a round published late loses the days gone.
    from_date = max(round_.period_from, today)
    return SeriesCreate(
        resource_id=allocation.resource_id,
        weekdays=[allocation.weekday],
        start_time=allocation.start_time,
        end_time=allocation.end_time,
        from_date=from_date,
        to_date=round_.period_to,
        customer=CustomerIn(
            name=application.organisation,
            phone=application.phone,
            email=application.email,
            organisation=application.organisation,
            org_number=application.org_number,
        ),
        on_conflict="skip",
        locale="en" if application.locale == "en" else "nb",
    )


def _publish_one(
    ctx: BookingContext, tenant_id: str, round_id: str, allocation_id: str, actor: str
) -> None:
    """Makes one allocation's series, or records why it could not be made."""
    try:
        with ctx.database.transaction() as session:
            allocation = session.scalars(
                select(RoundAllocation).where(RoundAllocation.id == allocation_id).with_for_update()
            ).first()
            if allocation is None or allocation.series_id is not None:
                return  # taken back, or another publish made it meanwhile
            round_ = rounds.get_round(session, tenant_id, round_id)
            resource = repo.resource(session, allocation.resource_id)
            assert resource is not None
            venue = repo.venue(session, resource.venue_id)
            assert venue is not None
            tz = domain.zone(venue.timezone)
            today = ctx.clock.now().astimezone(tz).date()
            data = _series_data(session, round_, allocation, today)
            made = series.create_series(
                ctx, session, tenant_id, data, status="confirmed", decided_by=actor
            )
            skipped = {c.start.astimezone(tz).date() for c in made.conflicts}
            skipped |= {s.date for s in made.skipped}
            allocation.series_id = made.series.id
            allocation.skipped_dates = sorted(d.isoformat() for d in skipped)
            allocation.publish_error = None
        log.info("round %s: allocation %s published", round_id, allocation_id)
    except (AppError, IntegrityError) as exc:
        error = (
            f"{exc.code}: {exc.message}" if isinstance(exc, AppError) else "conflict: time taken"
        )
        with ctx.database.transaction() as session:
            failed = session.get(RoundAllocation, allocation_id)
            if failed is not None and failed.series_id is None:
                failed.publish_error = error
        log.warning("round %s: allocation %s not published", round_id, allocation_id)


def _finish(ctx: BookingContext, tenant_id: str, round_id: str) -> PublishOut:
    """Queues the result of every applicant whose allocations all have their series (once),
    and marks the round published when every allocation has."""
    with ctx.database.transaction() as session:
        round_ = rounds.get_round(session, tenant_id, round_id, lock=True)
        now = ctx.clock.now()
        allocations = session.scalars(
            select(RoundAllocation)
            .where(RoundAllocation.round_id == round_.id)
            .order_by(RoundAllocation.id)
        ).all()
        waiting = {a.application_id for a in allocations if a.series_id is None}
        applications = session.scalars(
            select(RoundApplication).where(
                RoundApplication.round_id == round_.id,
                RoundApplication.result_queued_at.is_(None),
            )
        ).all()
        queued = 0
        for application in applications:
            if application.id in waiting:
                continue
            rounds_emails.enqueue_result(ctx, session, application.id)
            application.result_queued_at = now
            queued += 1
        if not waiting and round_.published_at is None:
            round_.published_at = now
        session.flush()
        return PublishOut(
            round=rounds.round_out(session, round_, now),
            published=[
                PublishedOut(
                    allocation_id=a.id,
                    wish_id=a.wish_id,
                    series_id=a.series_id,
                    skipped_dates=rounds_views.allocation_out(a).skipped_dates,
                )
                for a in allocations
                if a.series_id is not None
            ],
            failed=[
                PublishFailedOut(allocation_id=a.id, wish_id=a.wish_id, error=a.publish_error or "")
                for a in allocations
                if a.series_id is None
            ],
            emails_queued=queued,
        )


def publish(ctx: BookingContext, tenant_id: str, round_id: str, actor: str) -> PublishOut:
    """Publishes the round's allocations that are not yet; see the module's docstring."""
    for allocation_id in _start(ctx, tenant_id, round_id):
        _publish_one(ctx, tenant_id, round_id, allocation_id, actor)
    return _finish(ctx, tenant_id, round_id)
