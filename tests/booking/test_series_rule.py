"""The pure recurrence of a series: local times kept across DST, counts, exceptions."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hallkey.booking.series_rule import local_dates, make_rule, occurrence_frame
from hallkey.core.errors import InvalidInput

OSLO = ZoneInfo("Europe/Oslo")


def _expected(
    first: date, last: date, weekdays: set[int], every: int, excepted: set[date]
) -> list[date]:
    """Counts the dates by hand: weeks (from Monday) numbered from the first date's week."""
    monday = first - timedelta(days=first.weekday())
    days = []
    day = first
    while day <= last:
        week = (day - monday).days // 7
        if day.isoweekday() in weekdays and week % every == 0 and day not in excepted:
            days.append(day)
        day += timedelta(days=1)
    return days


@settings(max_examples=200, deadline=None)
@given(
    first=st.dates(min_value=date(2026, 1, 1), max_value=date(2028, 12, 31)),
    length=st.integers(min_value=0, max_value=366),
    weekdays=st.sets(st.integers(min_value=1, max_value=7), min_size=1),
    every=st.integers(min_value=1, max_value=4),
    # Wall times clear of Oslo's DST hours (02:00-03:00): they must show unchanged.
    start_minute=st.integers(min_value=4 * 60, max_value=22 * 60),
    length_minutes=st.integers(min_value=15, max_value=60),
    except_offsets=st.sets(st.integers(min_value=0, max_value=366), max_size=10),
)
def test_series_rule__dates_and_local_times__as_counted_by_hand(
    first: date,
    length: int,
    weekdays: set[int],
    every: int,
    start_minute: int,
    length_minutes: int,
    except_offsets: set[int],
) -> None:
    last = first + timedelta(days=length)
    excepted = {first + timedelta(days=n) for n in except_offsets}
    end_minute = start_minute + length_minutes
    rule = make_rule(
        weekdays=weekdays,
        start_time=f"{start_minute // 60:02d}:{start_minute % 60:02d}",
        end_time=f"{end_minute // 60:02d}:{end_minute % 60:02d}",
        from_date=first,
        to_date=last,
        every_weeks=every,
        except_dates=excepted,
    )
    days = local_dates(rule)
    assert days == _expected(first, last, weekdays, every, excepted)
    for day in days:
        frame = occurrence_frame(rule, day, OSLO)
        start, end = frame.start.astimezone(OSLO), frame.end.astimezone(OSLO)
        assert start.date() == day and end.date() == day
        assert start.hour * 60 + start.minute == start_minute
        assert end.hour * 60 + end.minute == end_minute
        assert frame.start.tzinfo is not None and frame.start.utcoffset() == timedelta(0)


def test_series_rule__forty_tuesdays__18_00_in_summer_and_winter_time() -> None:
    rule = make_rule(
        weekdays=[2],
        start_time="18:00",
        end_time="20:00",
        from_date=date(2026, 9, 1),
        to_date=date(2027, 6, 1),
    )
    days = local_dates(rule)
    assert len(days) == 40
    starts = {occurrence_frame(rule, day, OSLO).start.astimezone(UTC).hour for day in days}
    assert starts == {16, 17}  # 18:00 at +02:00 and at +01:00
    oct_27 = occurrence_frame(rule, date(2026, 10, 27), OSLO)
    assert oct_27.start == datetime(2026, 10, 27, 17, 0, tzinfo=UTC)
    mar_30 = occurrence_frame(rule, date(2027, 3, 30), OSLO)
    assert mar_30.start == datetime(2027, 3, 30, 16, 0, tzinfo=UTC)


def test_series_rule__wall_time_in_the_gap_or_twice__read_as_documented() -> None:
    rule = make_rule(
        weekdays=[7],
        start_time="02:30",
        end_time="04:00",
        from_date=date(2026, 10, 25),
        to_date=date(2027, 3, 28),
    )
    # Autumn: 02:30 shows twice; the occurrence starts at its first showing (+02:00).
    autumn = occurrence_frame(rule, date(2026, 10, 25), OSLO)
    assert autumn.start == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert autumn.end == datetime(2026, 10, 25, 3, 0, tzinfo=UTC)
    # Spring: 02:30 does not exist; the occurrence starts when the clock jumps to 03:00.
    spring = occurrence_frame(rule, date(2027, 3, 28), OSLO)
    assert spring.start == datetime(2027, 3, 28, 1, 0, tzinfo=UTC)
    assert spring.start.astimezone(OSLO).time() == time(3, 0)
    assert spring.end == datetime(2027, 3, 28, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"weekdays": [0]}, "weekdays"),
        ({"weekdays": []}, "weekdays"),
        ({"start_time": "25:00"}, "start_time"),
        ({"end_time": "17:00"}, "end_time"),
        ({"end_time": "7pm"}, "end_time"),
        ({"to_date": date(2026, 8, 31)}, "to_date"),
        ({"to_date": date(2027, 9, 3)}, "to_date"),
        ({"every_weeks": 0}, "every_weeks"),
    ],
)
def test_series_rule__bad_rule__names_the_field(changes: dict[str, object], field: str) -> None:
    values: dict[str, object] = {
        "weekdays": [2],
        "start_time": "18:00",
        "end_time": "20:00",
        "from_date": date(2026, 9, 1),
        "to_date": date(2027, 6, 1),
    }
    values.update(changes)
    with pytest.raises(InvalidInput) as caught:
        make_rule(**values)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_series_rule__end_of_day__24_00_ends_at_midnight() -> None:
    rule = make_rule(
        weekdays=[1],
        start_time="22:00",
        end_time="24:00",
        from_date=date(2026, 11, 2),
        to_date=date(2026, 11, 2),
    )
    frame = occurrence_frame(rule, date(2026, 11, 2), OSLO)
    assert frame.end.astimezone(OSLO) == datetime(2026, 11, 3, 0, 0, tzinfo=OSLO)
