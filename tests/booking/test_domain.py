"""Pure booking rules: frames, access windows, opening hours (with Oslo's DST days)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from hallkey.booking import domain
from hallkey.booking.domain import Frame
from hallkey.core.errors import InvalidInput

OSLO = ZoneInfo("Europe/Oslo")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def local(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, *, fold: int = 0
) -> datetime:
    """Returns Oslo wall time as UTC (`fold=1`: the second 02:30 on the fall-back night)."""
    return datetime(year, month, day, hour, minute, tzinfo=OSLO, fold=fold).astimezone(UTC)


def test_frames__sharing_an_instant__overlap() -> None:
    a = Frame(utc(2026, 5, 1, 10), utc(2026, 5, 1, 12))
    assert a.overlaps(Frame(utc(2026, 5, 1, 11), utc(2026, 5, 1, 13)))
    assert a.overlaps(Frame(utc(2026, 5, 1, 9), utc(2026, 5, 1, 13)))
    assert a.overlaps(Frame(utc(2026, 5, 1, 10, 30), utc(2026, 5, 1, 11)))


def test_frames__touching_ends__do_not_overlap() -> None:
    a = Frame(utc(2026, 5, 1, 10), utc(2026, 5, 1, 12))
    assert not a.overlaps(Frame(utc(2026, 5, 1, 12), utc(2026, 5, 1, 13)))
    assert not a.overlaps(Frame(utc(2026, 5, 1, 8), utc(2026, 5, 1, 10)))


def test_frame__end_not_after_start__is_refused_on_end() -> None:
    now = utc(2026, 5, 1)
    with pytest.raises(InvalidInput) as refused:
        domain.validate_frame(utc(2026, 5, 2, 12), utc(2026, 5, 2, 12), now)
    assert refused.value.field == "end"
    with pytest.raises(InvalidInput):
        domain.validate_frame(utc(2026, 5, 2, 12), utc(2026, 5, 2, 11), now)


def test_frame__ending_in_the_past__is_refused_but_one_that_has_begun_is_fine() -> None:
    now = utc(2026, 5, 1, 12)
    with pytest.raises(InvalidInput) as refused:
        domain.validate_frame(utc(2026, 5, 1, 10), utc(2026, 5, 1, 12), now)
    assert refused.value.field == "end"
    frame = domain.validate_frame(utc(2026, 5, 1, 11), utc(2026, 5, 1, 13), now)
    assert frame.duration == timedelta(hours=2)


def test_access_window__is_widened_by_before_and_after_minutes() -> None:
    frame = Frame(utc(2026, 5, 1, 10), utc(2026, 5, 1, 12))
    window = domain.access_window(frame, 15, 30)
    assert window == Frame(utc(2026, 5, 1, 9, 45), utc(2026, 5, 1, 12, 30))
    assert domain.access_window(frame, 0, 0) == frame


def test_opening_hours__none__is_open_around_the_clock() -> None:
    frame = Frame(utc(2026, 5, 1, 1), utc(2026, 5, 3, 23))
    assert domain.within_opening_hours(frame, None, OSLO)


def test_opening_hours__are_read_in_the_venues_wall_time() -> None:
    hours = {"fri": [["08:00", "22:00"]]}  # 2026-05-01 is a Friday, Oslo is UTC+2
    assert domain.within_opening_hours(
        Frame(local(2026, 5, 1, 8), local(2026, 5, 1, 22)), hours, OSLO
    )
    assert not domain.within_opening_hours(
        Frame(local(2026, 5, 1, 7, 30), local(2026, 5, 1, 9)), hours, OSLO
    )
    assert not domain.within_opening_hours(
        Frame(local(2026, 5, 1, 21), local(2026, 5, 1, 22, 1)), hours, OSLO
    )
    # A Saturday is closed.
    assert not domain.within_opening_hours(
        Frame(local(2026, 5, 2, 10), local(2026, 5, 2, 11)), hours, OSLO
    )


def test_opening_hours__spanning_midnight__join_across_days() -> None:
    hours = {"fri": [["18:00", "24:00"]], "sat": [["00:00", "02:00"]]}
    frame = Frame(local(2026, 5, 1, 23), local(2026, 5, 2, 1))
    assert domain.within_opening_hours(frame, hours, OSLO)
    assert not domain.within_opening_hours(
        Frame(local(2026, 5, 1, 23), local(2026, 5, 2, 3)), hours, OSLO
    )


def test_opening_hours__spring_forward_night__booking_spans_one_real_hour() -> None:
    # 2026-03-29 (a Sunday): Oslo jumps from 02:00 CET to 03:00 CEST.
    hours = {"sun": [["01:00", "04:00"]]}
    start = local(2026, 3, 29, 1, 30)
    end = local(2026, 3, 29, 3, 30)
    assert end - start == timedelta(hours=1)
    assert start == utc(2026, 3, 29, 0, 30)
    assert domain.within_opening_hours(Frame(start, end), hours, OSLO)
    assert not domain.within_opening_hours(Frame(start, local(2026, 3, 29, 4, 30)), hours, OSLO)


def test_opening_hours__on_the_spring_forward_day__open_at_local_eight() -> None:
    hours = {"sun": [["08:00", "22:00"]]}
    # Local 08:00 is 06:00Z after the change (07:00Z the day before).
    assert domain.within_opening_hours(Frame(utc(2026, 3, 29, 6), utc(2026, 3, 29, 7)), hours, OSLO)
    assert not domain.within_opening_hours(
        Frame(utc(2026, 3, 29, 5, 30), utc(2026, 3, 29, 6, 30)), hours, OSLO
    )
    assert domain.within_opening_hours(
        Frame(utc(2026, 3, 29, 19), utc(2026, 3, 29, 20)), hours, OSLO
    )
    assert not domain.within_opening_hours(
        Frame(utc(2026, 3, 29, 19, 30), utc(2026, 3, 29, 20, 30)), hours, OSLO
    )


def test_opening_hours__on_the_fall_back_day__open_at_local_eight_in_winter_time() -> None:
    # 2026-10-25 (a Sunday): Oslo goes from 03:00 CEST back to 02:00 CET.
    hours = {"sun": [["08:00", "22:00"]]}
    assert domain.within_opening_hours(
        Frame(utc(2026, 10, 25, 7), utc(2026, 10, 25, 8)), hours, OSLO
    )
    assert not domain.within_opening_hours(
        Frame(utc(2026, 10, 25, 6, 30), utc(2026, 10, 25, 7, 30)), hours, OSLO
    )
    # The night of the change: 01:00-04:00 local lasts four real hours.
    night = {"sun": [["01:00", "04:00"]]}
    start, end = local(2026, 10, 25, 1), local(2026, 10, 25, 4)
    assert end - start == timedelta(hours=4)
    assert domain.within_opening_hours(Frame(start, end), night, OSLO)
    assert domain.within_opening_hours(
        Frame(local(2026, 10, 25, 2, 30, fold=1), local(2026, 10, 25, 3, 30)), night, OSLO
    )


def opening_on(day: datetime, hours: dict[str, list[list[str]]]) -> list[Frame]:
    """Returns the opening frames of one local day (with a margin of a day each side)."""
    return domain.opening_frames(
        hours, OSLO, Frame(day - timedelta(hours=6), day + timedelta(hours=30))
    )


def test_opening_hours__starting_in_the_spring_gap__open_when_the_clock_jumps() -> None:
    # 2026-03-29: 02:00-03:00 does not exist in Oslo; the clock jumps at 01:00Z.
    sunday = local(2026, 3, 29)
    assert opening_on(sunday, {"sun": [["02:30", "03:15"]]}) == [
        Frame(utc(2026, 3, 29, 1), local(2026, 3, 29, 3, 15))
    ]
    assert opening_on(sunday, {"sun": [["02:30", "06:00"]]}) == [
        Frame(utc(2026, 3, 29, 1), utc(2026, 3, 29, 4))
    ]
    # A booking right at the jump fits that day's opening.
    assert domain.within_opening_hours(
        Frame(utc(2026, 3, 29, 1), utc(2026, 3, 29, 1, 15)), {"sun": [["02:30", "03:15"]]}, OSLO
    )


def test_opening_hours__ending_in_the_spring_gap__close_when_the_clock_jumps() -> None:
    sunday = local(2026, 3, 29)
    assert opening_on(sunday, {"sun": [["00:00", "02:30"]]}) == [
        Frame(local(2026, 3, 29, 0), utc(2026, 3, 29, 1))
    ]
    # Wholly inside the gap: no opening that day, and no inverted frame either.
    assert opening_on(sunday, {"sun": [["02:10", "02:50"]]}) == []


def test_opening_hours__in_the_autumn_repeat__cover_both_showings_of_the_wall_time() -> None:
    # 2026-10-25: 02:00-03:00 happens twice (00:00Z-01:00Z CEST, then 01:00Z-02:00Z CET).
    sunday = local(2026, 10, 25)
    # Opens at the first 02:30 (00:30Z); closes at the second 02:30 (01:30Z).
    assert opening_on(sunday, {"sun": [["02:30", "05:00"]]}) == [
        Frame(utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 4))
    ]
    assert opening_on(sunday, {"sun": [["01:00", "02:30"]]}) == [
        Frame(utc(2026, 10, 24, 23), utc(2026, 10, 25, 1, 30))
    ]
    assert domain.within_opening_hours(
        Frame(local(2026, 10, 25, 2, 0, fold=1), local(2026, 10, 25, 2, 30, fold=1)),
        {"sun": [["01:00", "02:30"]]},
        OSLO,
    )


def test_opening_hours__malformed__are_refused() -> None:
    for bad in (
        {"monday": [["08:00", "10:00"]]},
        {"mon": [["10:00", "08:00"]]},
        {"mon": [["8", "9"]]},
    ):
        with pytest.raises(InvalidInput) as refused:
            domain.validate_opening_hours(bad)
        assert refused.value.field == "opening_hours"
    assert domain.validate_opening_hours({"mon": [["08:00", "24:00"]]}) == {
        "mon": [["08:00", "24:00"]]
    }


def test_free_frames__are_opening_hours_minus_busy() -> None:
    hours = {"fri": [["08:00", "22:00"]]}
    span = Frame(local(2026, 5, 1, 0), local(2026, 5, 2, 0))
    busy = [Frame(local(2026, 5, 1, 10), local(2026, 5, 1, 12))]
    free = domain.free_frames(span, hours, OSLO, busy)
    assert free == [
        Frame(local(2026, 5, 1, 8), local(2026, 5, 1, 10)),
        Frame(local(2026, 5, 1, 12), local(2026, 5, 1, 22)),
    ]
    assert domain.free_frames(span, None, OSLO, busy) == [
        Frame(span.start, local(2026, 5, 1, 10)),
        Frame(local(2026, 5, 1, 12), span.end),
    ]


def test_availability_range__longer_than_62_days__is_refused_on_to() -> None:
    start = utc(2026, 5, 1)
    domain.validate_availability_range(start, start + timedelta(days=62))
    with pytest.raises(InvalidInput) as refused:
        domain.validate_availability_range(start, start + timedelta(days=62, seconds=1))
    assert refused.value.field == "to"
