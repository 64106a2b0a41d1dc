"""The case officer's side of a round after its deadline: the overview of wishes with their
clashes, allocations (the wish's slot, part of it, or another one) and declines with a reason.

Two allocations of a round never overlap (same resource, weekday and wall-clock time): the
round's row is locked while one is made, so two officers allocating at once are taken one
after the other. What is published (a series made, a result sent) is final.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select

from hallkey.booking import domain, rounds, rounds_calendar, rounds_views
from hallkey.booking import repository as repo
from hallkey.booking.models import Reservation, Resource
from hallkey.booking.rounds_calendar import Slot
from hallkey.booking.rounds_models import Round, RoundAllocation, RoundApplication, RoundWish
from hallkey.booking.rounds_schemas import (
    AllocationCreate,
    AllocationOut,
    OverviewDayOut,
    OverviewOut,
    OverviewResourceOut,
    OverviewWishOut,
    ReservationClashOut,
    WishOut,
)
from hallkey.core.errors import Conflict, InvalidInput, NotFound
from hallkey.core.ids import new_id

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from hallkey.booking.context import BookingContext

HOLDING = ("requested", "confirmed")


def _slot(item: RoundWish | RoundAllocation) -> Slot:
    return Slot(item.resource_id, item.weekday, item.start_time, item.end_time)


# --- the overview --------------------------------------------------------------------------


def _taken_in(
    session: Session, resource_id: str, frame: domain.Frame, own_series: set[str]
) -> list[tuple[str, datetime, datetime]]:
    """Returns the resource's holding reservations (id, start, end) overlapping the frame, by
    the (resource_id, start_at, end_at) index, but for the series this round published."""
    query = select(Reservation.id, Reservation.start_at, Reservation.end_at).where(
        Reservation.resource_id == resource_id,
        Reservation.start_at < frame.end,
        Reservation.end_at > frame.start,
        Reservation.status.in_(HOLDING),
    )
    if own_series:
        query = query.where(
            or_(Reservation.series_id.is_(None), Reservation.series_id.not_in(sorted(own_series)))
        )
    return [(rid, start, end) for rid, start, end in session.execute(query)]


Taken = dict[int, list[tuple[date, domain.Frame, str]]]
"""A resource's reservations by the local weekday of each date they touch."""


def _by_weekday(reservations: list[tuple[str, datetime, datetime]], tz: ZoneInfo) -> Taken:
    taken: Taken = defaultdict(list)
    for reservation_id, start, end in reservations:
        frame = domain.Frame(start, end)
        for day in rounds_calendar.local_dates(start, end, tz):
            taken[day.isoweekday()].append((day, frame, reservation_id))
    return taken


def overview(ctx: BookingContext, session: Session, round_: Round) -> OverviewOut:
    """Returns, per resource and weekday, the wishes (with the wishes each overlaps and the
    existing reservations of the period each would meet) and the allocations made."""
    tenant = repo.tenant(session, round_.tenant_id)
    assert tenant is not None
    rows = session.execute(
        select(RoundWish, RoundAllocation, RoundApplication)
        .join(RoundApplication, RoundApplication.id == RoundWish.application_id)
        .outerjoin(RoundAllocation, RoundAllocation.wish_id == RoundWish.id)
        .where(RoundWish.round_id == round_.id)
        .order_by(RoundWish.start_time, RoundWish.priority, RoundWish.id)
    ).all()
    allocations = session.scalars(
        select(RoundAllocation)
        .where(RoundAllocation.round_id == round_.id)
        .order_by(RoundAllocation.start_time, RoundAllocation.id)
    ).all()
    resources = {
        r.id: r
        for r in session.scalars(select(Resource).where(Resource.id.in_(round_.resource_ids)))
    }
    own_series = {a.series_id for a in allocations if a.series_id is not None}
    by_group: dict[tuple[str, int], list[tuple[RoundWish, RoundAllocation | None, str]]] = (
        defaultdict(list)
    )
    for wish, allocation, application in rows:
        by_group[(wish.resource_id, wish.weekday)].append(
            (wish, allocation, application.organisation)
        )
    allocated: dict[tuple[str, int], list[AllocationOut]] = defaultdict(list)
    for allocation in allocations:
        allocated[(allocation.resource_id, allocation.weekday)].append(
            rounds_views.allocation_out(allocation)
        )
    out: list[OverviewResourceOut] = []
    for resource_id in round_.resource_ids:
        resource = resources[resource_id]
        venue = repo.venue(session, resource.venue_id)
        tz = domain.zone(venue.timezone if venue else tenant.timezone)
        period = rounds_calendar.period_frame(round_.period_from, round_.period_to, tz)
        taken = _by_weekday(_taken_in(session, resource_id, period, own_series), tz)
        days: list[OverviewDayOut] = []
        for weekday in range(1, 8):
            group = by_group.get((resource_id, weekday), [])
            if not group and not allocated.get((resource_id, weekday)):
                continue
            wishes = [
                _overview_wish(wish, allocation, organisation, group, taken[weekday], tz)
                for wish, allocation, organisation in group
            ]
            days.append(
                OverviewDayOut(
                    weekday=weekday,
                    wishes=wishes,
                    allocations=allocated.get((resource_id, weekday), []),
                )
            )
        out.append(OverviewResourceOut(resource_id=resource_id, name=resource.name, weekdays=days))
    return OverviewOut(round=rounds.round_out(session, round_, ctx.clock.now()), resources=out)


def _overview_wish(
    wish: RoundWish,
    allocation: RoundAllocation | None,
    organisation: str,
    group: list[tuple[RoundWish, RoundAllocation | None, str]],
    taken: list[tuple[date, domain.Frame, str]],
    tz: ZoneInfo,
) -> OverviewWishOut:
    slot = _slot(wish)
    clashes = [
        other.id for other, _, _ in group if other.id != wish.id and slot.overlaps(_slot(other))
    ]
    met: dict[str, ReservationClashOut] = {}
    for day, frame, reservation_id in taken:
        if reservation_id in met:
            continue
        if rounds_calendar.occurrence(day, wish.start_time, wish.end_time, tz).overlaps(frame):
            met[reservation_id] = ReservationClashOut(
                reservation_id=reservation_id, start=frame.start, end=frame.end
            )
    base = rounds_views.wish_out(wish, allocation)
    return OverviewWishOut(
        **base.model_dump(exclude={"allocation"}),
        allocation=base.allocation,
        application_id=wish.application_id,
        organisation=organisation,
        clashes_with=clashes,
        reservation_clashes=list(met.values()),
    )


# --- allocations and declines --------------------------------------------------------------


def _decidable(ctx: BookingContext, session: Session, tenant_id: str, round_id: str) -> Round:
    """Returns the round locked for a decision; 409 before its deadline or once published.

    While a publish has not finished (`publishing`), what is not yet published can still be
    changed: an allocation whose series failed for good can be taken back and its wish
    allocated elsewhere or declined, so the round can be finished.
    """
    round_ = rounds.get_round(session, tenant_id, round_id, lock=True)
    status = rounds.status_of(round_, ctx.clock.now())
    if status == "open":
        raise Conflict("the round is open until its deadline", code="round_open")
    if status == "published":
        raise Conflict("the round is published: allocations are final", code="round_published")
    return round_


def _not_told(session: Session, wish: RoundWish) -> None:
    """Raises 409 `result_sent` when the wish's applicant was already sent their result."""
    application = session.get(RoundApplication, wish.application_id)
    if application is not None and application.result_queued_at is not None:
        raise Conflict(
            "the applicant has been sent their result: this wish is final", code="result_sent"
        )


def _wish(session: Session, round_: Round, wish_id: str, field: str | None = None) -> RoundWish:
    wish = session.get(RoundWish, wish_id)
    if wish is None or wish.round_id != round_.id:
        raise NotFound("unknown wish", field=field)
    return wish


def allocate(
    ctx: BookingContext,
    session: Session,
    tenant_id: str,
    round_id: str,
    body: AllocationCreate,
    actor: str,
) -> AllocationOut:
    """Allocates a wish its own slot, part of it or another one; 409 `allocation_overlaps`
    naming the allocations it would overlap."""
    round_ = _decidable(ctx, session, tenant_id, round_id)
    wish = _wish(session, round_, body.wish_id, field="wish_id")
    _not_told(session, wish)
    if wish.status == rounds.DECLINED:
        raise Conflict("the wish is declined", code="wish_declined", field="wish_id")
    if wish.status == rounds.ALLOCATED:
        raise Conflict(
            "the wish is allocated already: delete that allocation first",
            code="wish_allocated",
            field="wish_id",
        )
    slot = Slot(
        body.resource_id or wish.resource_id,
        body.weekday or wish.weekday,
        body.start_time or wish.start_time,
        body.end_time or wish.end_time,
    )
    if slot.resource_id not in round_.resource_ids:
        raise InvalidInput("the resource is not part of this round", field="resource_id")
    if slot.end_time <= slot.start_time:
        raise InvalidInput("end_time must be after start_time", field="end_time")
    others = session.scalars(
        select(RoundAllocation).where(
            RoundAllocation.round_id == round_.id,
            RoundAllocation.resource_id == slot.resource_id,
            RoundAllocation.weekday == slot.weekday,
        )
    ).all()
    clashing = sorted(a.id for a in others if slot.overlaps(_slot(a)))
    if clashing:
        raise Conflict(
            f"overlaps allocation {', '.join(clashing)} of the same resource and weekday",
            code="allocation_overlaps",
            field="start_time",
        )
    allocation = RoundAllocation(
        id=new_id("alc"),
        round_id=round_.id,
        wish_id=wish.id,
        application_id=wish.application_id,
        resource_id=slot.resource_id,
        weekday=slot.weekday,
        start_time=slot.start_time,
        end_time=slot.end_time,
        skipped_dates=[],
        created_by=actor,
        created_at=ctx.clock.now(),
    )
    session.add(allocation)
    wish.status = rounds.ALLOCATED
    wish.decided_by, wish.decided_at = actor, ctx.clock.now()
    session.flush()
    return rounds_views.allocation_out(allocation)


def delete_allocation(
    ctx: BookingContext, session: Session, tenant_id: str, round_id: str, allocation_id: str
) -> None:
    """Takes an allocation back: its wish is wished again."""
    round_ = _decidable(ctx, session, tenant_id, round_id)
    allocation = session.get(RoundAllocation, allocation_id)
    if allocation is None or allocation.round_id != round_.id:
        raise NotFound("unknown allocation")
    if allocation.series_id is not None:
        raise Conflict(
            "the allocation is published as a series: cancel the series instead",
            code="allocation_published",
        )
    wish = _wish(session, round_, allocation.wish_id)
    session.delete(allocation)
    wish.status = rounds.WISHED
    wish.decided_by = wish.decided_at = None
    session.flush()


def decline(
    ctx: BookingContext,
    session: Session,
    tenant_id: str,
    round_id: str,
    wish_id: str,
    reason: str,
    actor: str,
) -> WishOut:
    """Declines a wish with the reason the applicant is told; 409 for an allocated wish."""
    round_ = _decidable(ctx, session, tenant_id, round_id)
    wish = _wish(session, round_, wish_id)
    _not_told(session, wish)
    if wish.status == rounds.ALLOCATED:
        raise Conflict("the wish is allocated: delete that allocation first", code="wish_allocated")
    if wish.status != rounds.DECLINED or wish.decline_reason != reason:
        wish.status = rounds.DECLINED
        wish.decline_reason = reason
        wish.decided_by, wish.decided_at = actor, ctx.clock.now()
    session.flush()
    return rounds_views.wish_out(wish, None)
