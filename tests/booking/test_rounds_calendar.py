"""The pure arithmetic of a round's weekly slots: weeks in a season, overlaps, and instants in
Europe/Oslo on both sides of a DST change."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from hallkey.booking.rounds_calendar import (
    Slot,
    dates_of,
    local_dates,
    minutes_of,
    occurrence,
    period_frame,
    weeks_of,
)

OSLO = ZoneInfo("Europe/Oslo")


@pytest.mark.parametrize(
    ("weekday", "first", "last", "weeks"),
    [
        (2, date(2026, 8, 17), date(2026, 12, 18), 18),  # Tuesdays, 18 Aug to 15 Dec
        (1, date(2026, 8, 17), date(2026, 12, 18), 18),  # the first day counts
        (5, date(2026, 8, 17), date(2026, 12, 18), 18),  # and the last
        (6, date(2026, 8, 17), date(2026, 8, 21), 0),  # no Saturday in a Monday-Friday
        (3, date(2026, 8, 19), date(2026, 8, 19), 1),
    ],
)
def test_weeks_of__counts_the_weekdays_of_the_period(
    weekday: int, first: date, last: date, weeks: int
) -> None:
    days = list(dates_of(weekday, first, last))
    assert weeks_of(weekday, first, last) == len(days) == weeks
    assert all(d.isoweekday() == weekday and first <= d <= last for d in days)


def test_slot_overlaps__same_resource_and_weekday_only__touching_ends_do_not() -> None:
    tuesday = Slot("res_a", 2, "18:00", "19:30")
    assert tuesday.overlaps(Slot("res_a", 2, "19:00", "20:00"))
    assert not tuesday.overlaps(Slot("res_a", 2, "19:30", "21:00"))
    assert not tuesday.overlaps(Slot("res_a", 3, "18:00", "19:30"))
    assert not tuesday.overlaps(Slot("res_b", 2, "18:00", "19:30"))
    assert tuesday.minutes == minutes_of("18:00", "19:30") == 90


def test_occurrence__keeps_the_wall_clock_across_the_end_of_summer_time() -> None:
    summer = occurrence(date(2026, 10, 20), "18:00", "19:30", OSLO)
    winter = occurrence(date(2026, 10, 27), "18:00", "19:30", OSLO)
    assert summer.start == datetime(2026, 10, 20, 16, 0, tzinfo=UTC)
    assert winter.start == datetime(2026, 10, 27, 17, 0, tzinfo=UTC)
    assert winter.end - winter.start == summer.end - summer.start


def test_period_frame_and_local_dates__are_the_venues_days() -> None:
    frame = period_frame(date(2026, 8, 17), date(2026, 8, 18), OSLO)
    assert frame.start == datetime(2026, 8, 16, 22, 0, tzinfo=UTC)
    assert frame.end == datetime(2026, 8, 18, 22, 0, tzinfo=UTC)
    late = datetime(2026, 8, 17, 21, 30, tzinfo=UTC)  # 23:30 to 00:30 in Oslo
    assert local_dates(late, datetime(2026, 8, 17, 22, 30, tzinfo=UTC), OSLO) == [
        date(2026, 8, 17),
        date(2026, 8, 18),
    ]
    assert local_dates(late, datetime(2026, 8, 17, 22, 0, tzinfo=UTC), OSLO) == [date(2026, 8, 17)]
