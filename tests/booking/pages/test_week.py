"""The week's arithmetic in the venue's zone: which days, their UTC span across a DST change,
the opening hours as people read them, and a form's wall times (a skipped hour refused, a
repeated one read as its first)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from hallkey.booking.pages import week
from hallkey.core.errors import InvalidInput

OSLO = ZoneInfo("Europe/Oslo")


def test_first_day__iso_week_date_or_today__and_bad_ones_name_their_field() -> None:
    today = date(2026, 11, 26)
    assert week.first_day("2026-W49", None, today) == date(2026, 11, 30)
    assert week.first_day(None, "2026-12-03", today) == date(2026, 12, 3)
    assert week.first_day(None, None, today) == today
    for bad_week in ("2026-49", "2026-W54", "W49"):
        with pytest.raises(InvalidInput) as caught:
            week.first_day(bad_week, None, today)
        assert caught.value.field == "week"
    with pytest.raises(InvalidInput) as caught:
        week.first_day(None, "3.12.2026", today)
    assert caught.value.field == "from"


def test_span__the_week_the_clocks_go_back__is_169_hours() -> None:
    start, end = week.span(date(2026, 10, 19), OSLO)
    assert start == datetime(2026, 10, 18, 22, 0, tzinfo=UTC)
    assert end == datetime(2026, 10, 25, 23, 0, tzinfo=UTC)
    assert (end - start).total_seconds() == 169 * 3600


def test_hours_summary__days_with_the_same_hours_share_a_line__closed_days_left_out() -> None:
    hours = {day: [["08:00", "22:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
    hours["sat"] = [["10:00", "14:00"], ["16:00", "18:00"]]
    assert week.hours_summary(hours, "nb") == [
        "man.\u2013fre. 08:00\u201322:00",
        "lør. 10:00\u201314:00, 16:00\u201318:00",
    ]
    assert week.hours_summary(hours, "en")[0] == "Mon\u2013Fri 08:00\u201322:00"
    assert week.hours_summary(None, "nb") == []


def test_read_local__wall_times_in_oslo__skipped_refused__repeated_is_the_first() -> None:
    assert week.read_local("2026-12-03T18:00", OSLO, "start") == datetime(
        2026, 12, 3, 17, 0, tzinfo=UTC
    )
    assert week.read_local("2026-10-25T02:30", OSLO, "start") == datetime(
        2026, 10, 25, 0, 30, tzinfo=UTC
    )
    assert week.read_local("2026-12-03T18:00:00Z", OSLO, "end") == datetime(
        2026, 12, 3, 18, 0, tzinfo=UTC
    )
    with pytest.raises(InvalidInput) as skipped:
        week.read_local("2027-03-28T02:30", OSLO, "end")
    assert (skipped.value.field, skipped.value.code) == ("end", "no_such_time")
    with pytest.raises(InvalidInput) as bad:
        week.read_local("tomorrow", OSLO, "start")
    assert bad.value.field == "start"
