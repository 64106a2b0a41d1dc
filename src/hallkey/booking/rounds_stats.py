"""A round's statistics: wished and allocated hours per organisation and per age group.

Before publishing, an allocation counts its weekly minutes times the weeks of the period
(`planned`); once its series exists, the series' actual occurrences count (dates skipped for
existing reservations, or cancelled since, are not hours anyone got). Wishes always count as
planned: nobody holds them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy import select

from hallkey.booking import rounds_calendar
from hallkey.booking.rounds_models import Round, RoundAllocation, RoundApplication, RoundWish
from hallkey.booking.rounds_schemas import (
    AGE_GROUPS,
    AgeGroupHoursOut,
    HoursOut,
    OrganisationHoursOut,
    StatisticsOut,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

SeriesMinutes = Callable[["Session", str], int]
"""Returns the minutes of a series' occurrences that are still held."""


def _hours(wished: int, allocated: int) -> HoursOut:
    return HoursOut(
        wished_minutes=wished,
        allocated_minutes=allocated,
        wished_hours=round(wished / 60, 2),
        allocated_hours=round(allocated / 60, 2),
    )


def statistics(session: Session, round_: Round, series_minutes: SeriesMinutes) -> StatisticsOut:
    """Returns the round's wished and allocated hours, in total, per organisation and per age
    group (every fixed age group listed, zero or not)."""
    rows = session.execute(
        select(RoundWish, RoundAllocation)
        .outerjoin(RoundAllocation, RoundAllocation.wish_id == RoundWish.id)
        .where(RoundWish.round_id == round_.id)
    ).all()
    applications = session.scalars(
        select(RoundApplication)
        .where(RoundApplication.round_id == round_.id)
        .order_by(RoundApplication.organisation, RoundApplication.id)
    ).all()
    wished: dict[str, int] = defaultdict(int)
    allocated: dict[str, int] = defaultdict(int)
    wished_by_age: dict[str, int] = defaultdict(int)
    allocated_by_age: dict[str, int] = defaultdict(int)
    measured_occurrences = False
    for wish, allocation in rows:
        weeks = rounds_calendar.weeks_of(wish.weekday, round_.period_from, round_.period_to)
        minutes = rounds_calendar.minutes_of(wish.start_time, wish.end_time) * weeks
        wished[wish.application_id] += minutes
        wished_by_age[wish.age_group] += minutes
        if allocation is None:
            continue
        if allocation.series_id is not None:
            measured_occurrences = True
            got = series_minutes(session, allocation.series_id)
        else:
            weeks = rounds_calendar.weeks_of(
                allocation.weekday, round_.period_from, round_.period_to
            )
            got = rounds_calendar.minutes_of(allocation.start_time, allocation.end_time) * weeks
        allocated[wish.application_id] += got
        allocated_by_age[wish.age_group] += got
    return StatisticsOut(
        round_id=round_.id,
        measured="occurrences" if measured_occurrences else "planned",
        total=_hours(sum(wished.values()), sum(allocated.values())),
        organisations=[
            OrganisationHoursOut(
                application_id=a.id,
                organisation=a.organisation,
                org_number=a.org_number,
                **_hours(wished[a.id], allocated[a.id]).model_dump(),
            )
            for a in applications
        ],
        age_groups=[
            AgeGroupHoursOut(
                age_group=group,
                **_hours(wished_by_age[group], allocated_by_age[group]).model_dump(),
            )
            for group in AGE_GROUPS
        ],
    )
