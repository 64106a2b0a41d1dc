"""The pure booking rules (`hallkey.booking.rules`): each rule alone, DST in Europe/Oslo, and
properties of the grid and the buffer."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hallkey.booking import rules
from hallkey.booking.domain import WEEKDAYS, Frame
from hallkey.booking.rules import ClosedPeriod, ResourceRules
from hallkey.core.errors import InvalidInput

OSLO = ZoneInfo("Europe/Oslo")
NOW = datetime(2027, 3, 1, 9, tzinfo=UTC)


def local(text: str, fold: int = 0) -> datetime:
    """Returns the UTC instant of an Oslo wall time."""
    return datetime.fromisoformat(text).replace(tzinfo=OSLO, fold=fold).astimezone(UTC)


def frame(start: str, end: str) -> Frame:
    return Frame(local(start), local(end))


def refusal(call: object, *args: object, **kwargs: object) -> tuple[str, str | None]:
    assert callable(call)
    with pytest.raises(InvalidInput) as caught:
        call(*args, **kwargs)
    return caught.value.code, caught.value.field


# --- each rule --------------------------------------------------------------------------


def test_check_frame__each_rule__refuses_with_its_code_and_field() -> None:
    strict = ResourceRules(
        min_minutes=30,
        max_minutes=180,
        horizon_days=60,
        slot_minutes=30,
        lead_minutes=120,
        closed=(ClosedPeriod(date(2027, 3, 10), date(2027, 3, 12), "painting"),),
        public_holidays_closed=True,
    )
    hours = {day: [["08:00", "22:00"]] for day in WEEKDAYS}
    cases = {
        ("too_short", "end"): frame("2027-03-02T10:00", "2027-03-02T10:15"),
        ("too_long", "end"): frame("2027-03-02T10:00", "2027-03-02T13:30"),
        ("too_far_ahead", "start"): frame("2027-05-03T10:00", "2027-05-03T11:00"),
        ("too_late", "start"): frame("2027-03-01T11:00", "2027-03-01T12:00"),
        ("off_grid", "start"): frame("2027-03-02T10:10", "2027-03-02T11:00"),
        ("off_grid", "end"): frame("2027-03-02T10:00", "2027-03-02T11:10"),
        ("closed_date", "start"): frame("2027-03-11T10:00", "2027-03-11T11:00"),
        ("public_holiday", "start"): frame("2027-03-26T10:00", "2027-03-26T11:00"),
        ("outside_opening_hours", "start"): frame("2027-03-02T07:30", "2027-03-02T09:00"),
    }
    for expected, broken in cases.items():
        got = refusal(rules.check_frame, broken, strict, hours, OSLO, NOW)
        assert got == expected, broken
    rules.check_frame(frame("2027-03-02T10:00", "2027-03-02T11:30"), strict, hours, OSLO, NOW)


def test_check_lead__zero__is_no_rule_and_a_move_keeping_its_start_is_not_late() -> None:
    begun = Frame(NOW - timedelta(hours=1), NOW + timedelta(hours=1))
    rules.check_lead(begun, 0, NOW)
    assert refusal(rules.check_lead, begun, 60, NOW) == ("too_late", "start")
    lenient = ResourceRules(lead_minutes=60)
    rules.check_frame(begun, lenient, None, OSLO, NOW, new_start=False)


def test_closed_dates__touching_a_closed_day__is_refused_but_ending_at_its_midnight_is_not() -> (
    None
):
    closed = ResourceRules(closed=(ClosedPeriod(date(2027, 3, 10), date(2027, 3, 10)),))
    rules.check_closed(frame("2027-03-09T20:00", "2027-03-10T00:00"), closed, OSLO)
    rules.check_closed(frame("2027-03-11T00:00", "2027-03-11T02:00"), closed, OSLO)
    got = refusal(rules.check_closed, frame("2027-03-09T20:00", "2027-03-11T01:00"), closed, OSLO)
    assert got == ("closed_date", "start")


def test_public_holidays__norway__are_closed_only_when_the_resource_says_so() -> None:
    easter_monday = frame("2027-03-29T10:00", "2027-03-29T11:00")
    rules.check_closed(easter_monday, ResourceRules(), OSLO)
    closed = ResourceRules(public_holidays_closed=True)
    assert refusal(rules.check_closed, easter_monday, closed, OSLO)[0] == "public_holiday"
    assert rules.public_holiday(date(2027, 5, 17)) is not None  # Constitution Day
    assert rules.public_holiday(date(2027, 5, 18)) is None
    rules.check_closed(frame("2027-03-30T10:00", "2027-03-30T11:00"), closed, OSLO)


def test_open_bookings__at_the_limit__refuses_one_more() -> None:
    rules.check_open_bookings(5, None)
    rules.check_open_bookings(1, 2)
    assert refusal(rules.check_open_bookings, 2, 2) == ("too_many_open_bookings", "customer.email")


def test_cancellation__later_than_the_free_hours__is_charged() -> None:
    start = NOW + timedelta(hours=24)
    assert not rules.cancellation_charged(start, NOW, None)
    assert not rules.cancellation_charged(start, NOW, 24)
    assert rules.cancellation_charged(start, NOW + timedelta(seconds=1), 24)
    assert not rules.cancellation_charged(start, NOW + timedelta(hours=23), 0)


def test_closed_periods__validation__canonical_sorted_and_refused_when_malformed() -> None:
    got = rules.validate_closed_periods(
        [
            {"from": "2027-12-24", "to": "2027-12-26", "reason": "Jul"},
            {"from": date(2027, 7, 1), "to": "2027-07-31"},
        ]
    )
    assert got == [
        {"from": "2027-07-01", "to": "2027-07-31", "reason": None},
        {"from": "2027-12-24", "to": "2027-12-26", "reason": "Jul"},
    ]
    malformed: list[list[dict[str, Any]]] = [
        [{"from": "2027-12-26", "to": "2027-12-24"}],
        [{"from": "24.12.2027", "to": "x"}],
        [{}],
    ]
    for bad in malformed:
        assert refusal(rules.validate_closed_periods, bad)[1] == "closed_periods"


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"slot_minutes": 7}, "slot_minutes"),
        ({"slot_minutes": 0}, "slot_minutes"),
        ({"lead_minutes": -1}, "lead_minutes"),
        ({"buffer_minutes": 24 * 60 + 1}, "buffer_minutes"),
        ({"max_open_bookings": 0}, "max_open_bookings"),
        ({"free_cancellation_hours": -1}, "free_cancellation_hours"),
    ],
)
def test_rule_values__out_of_bounds__name_their_field(values: dict[str, int], field: str) -> None:
    given_values: dict[str, int | None] = {
        "slot_minutes": None,
        "lead_minutes": 0,
        "buffer_minutes": 0,
        "max_open_bookings": None,
        "free_cancellation_hours": None,
    }
    given_values.update(values)
    assert refusal(rules.check_rule_values, **given_values)[1] == field


# --- DST in Europe/Oslo -------------------------------------------------------------------


def test_grid__spring_gap__wall_clock_grid_holds_across_the_missing_hour() -> None:
    # 2027-03-28: 02:00 jumps to 03:00. 01:00, 03:00 and 04:00 are on an hourly grid.
    assert rules.on_grid(local("2027-03-28T01:00"), 60, OSLO)
    assert rules.on_grid(local("2027-03-28T03:00"), 60, OSLO)
    # On a 90-minute grid from midnight: 00:00, 01:30, 03:00 (30 real minutes after 01:30).
    assert rules.on_grid(local("2027-03-28T01:30"), 90, OSLO)
    assert rules.on_grid(local("2027-03-28T03:00"), 90, OSLO)
    assert not rules.on_grid(local("2027-03-28T04:00"), 90, OSLO)
    across = frame("2027-03-28T01:00", "2027-03-28T04:00")  # two real hours
    assert across.duration == timedelta(hours=2)
    rules.check_grid(across, 60, OSLO)
    up = rules.snap_to_grid(local("2027-03-28T01:31"), 90, OSLO, up=True)
    assert up == local("2027-03-28T03:00")
    down = rules.snap_to_grid(local("2027-03-28T02:59", 1), 90, OSLO, up=False)
    assert down == local("2027-03-28T01:30")


def test_grid__autumn_repeat__both_showings_of_a_wall_time_are_on_the_grid() -> None:
    # 2027-10-31: 03:00 falls back to 02:00; 02:00-03:00 is shown twice.
    first, second = local("2027-10-31T02:00", 0), local("2027-10-31T02:00", 1)
    assert second - first == timedelta(hours=1)
    assert rules.on_grid(first, 60, OSLO) and rules.on_grid(second, 60, OSLO)
    assert not rules.on_grid(local("2027-10-31T02:30", 1), 60, OSLO)
    assert rules.snap_to_grid(first + timedelta(minutes=1), 60, OSLO, up=True) == second
    assert rules.snap_to_grid(second - timedelta(minutes=1), 60, OSLO, up=False) == first
    # A booking in the repeated hour, on the grid, lasts its real hour.
    rules.check_grid(Frame(first, second), 60, OSLO)


def test_closed_day__on_dst_days__is_the_whole_local_day() -> None:
    spring = ResourceRules(closed=(ClosedPeriod(date(2027, 3, 28), date(2027, 3, 28)),))
    autumn = ResourceRules(closed=(ClosedPeriod(date(2027, 10, 31), date(2027, 10, 31)),))
    span = Frame(local("2027-03-27T12:00"), local("2027-03-29T12:00"))
    [closed] = rules.closed_frames(span, spring, OSLO)
    assert (closed.start, closed.end) == (local("2027-03-28T00:00"), local("2027-03-29T00:00"))
    assert closed.duration == timedelta(hours=23)
    span = Frame(local("2027-10-30T12:00"), local("2027-11-01T12:00"))
    [closed] = rules.closed_frames(span, autumn, OSLO)
    assert closed.duration == timedelta(hours=25)
    late = frame("2027-10-31T23:00", "2027-11-01T00:00")
    assert refusal(rules.check_closed, late, autumn, OSLO)[0] == "closed_date"


def test_free_frames__on_dst_days__follow_the_wall_clock_grid_and_hours() -> None:
    hours = {"sun": [["01:00", "05:00"]]}
    grid = ResourceRules(slot_minutes=60, min_minutes=60, horizon_days=3650)
    spring = Frame(local("2027-03-28T00:00"), local("2027-03-29T00:00"))
    free = rules.free_frames(spring, grid, hours, OSLO, [], NOW)
    assert [(f.start, f.end) for f in free] == [
        (local("2027-03-28T01:00"), local("2027-03-28T05:00"))
    ]
    autumn = Frame(local("2027-10-31T00:00"), local("2027-11-01T00:00"))
    free = rules.free_frames(autumn, grid, hours, OSLO, [], NOW)
    assert free[0].duration == timedelta(hours=5)


# --- availability: nothing offered that would be refused ---------------------------------


def test_free_frames__keep_lead_horizon_buffer_grid_and_closed_days() -> None:
    now = local("2027-06-01T09:10")
    resource = ResourceRules(
        slot_minutes=30,
        min_minutes=60,
        lead_minutes=60,
        buffer_minutes=30,
        horizon_days=2,
        closed=(ClosedPeriod(date(2027, 6, 2), date(2027, 6, 2)),),
    )
    held = [Frame(local("2027-06-01T14:00"), local("2027-06-01T15:30"))]  # booked 14-15, +30
    span = Frame(local("2027-06-01T00:00"), local("2027-06-05T00:00"))
    free = rules.free_frames(span, resource, None, OSLO, held, now)
    assert [(f.start, f.end) for f in free] == [
        (local("2027-06-01T10:30"), local("2027-06-01T13:30")),  # lead, then buffer before 14
        (local("2027-06-01T15:30"), local("2027-06-02T00:00")),  # after the held buffer
        (local("2027-06-03T00:00"), local("2027-06-03T09:00")),  # horizon: now + 2 days, snapped
    ]


HELD_STARTS = st.lists(st.integers(0, 24 * 14 * 4), min_size=0, max_size=12, unique=True)


@settings(max_examples=60, deadline=None)
@given(
    slot=st.sampled_from([5, 15, 30, 45, 60, 90, 120, 160]),
    buffer=st.integers(0, 120),
    starts=HELD_STARTS,
    offset_days=st.integers(0, 300),
)
def test_free_frames__any_booking_inside_them__passes_every_check(
    slot: int, buffer: int, starts: list[int], offset_days: int
) -> None:
    """Property: the edges of each free frame, and one slot into it, are bookings the rules
    accept and that keep the buffer from every held time, across DST changes."""
    now = datetime(2027, 1, 1, tzinfo=UTC) + timedelta(days=offset_days)
    resource = ResourceRules(slot_minutes=slot, min_minutes=slot, buffer_minutes=buffer)
    held: list[Frame] = []
    for quarter in sorted(starts):
        start = now + timedelta(minutes=15 * quarter)
        candidate = Frame(start, start + timedelta(minutes=60 + buffer))
        if not held or held[-1].end <= candidate.start:
            held.append(candidate)
    span = Frame(now, now + timedelta(days=15))
    for free in rules.free_frames(span, resource, None, OSLO, held, now):
        assert rules.on_grid(free.start, slot, OSLO) and rules.on_grid(free.end, slot, OSLO)
        shortest = rules.snap_to_grid(free.start + timedelta(minutes=slot), slot, OSLO, up=True)
        for booking in (Frame(free.start, min(shortest, free.end)), free):
            if not slot <= booking.duration.total_seconds() / 60 <= resource.max_minutes:
                continue  # a slot across a DST gap is shorter than a slot: too short alone
            rules.check_frame(booking, resource, None, OSLO, now)
            blocked = Frame(booking.start, rules.block_end(booking.end, buffer))
            assert not any(blocked.overlaps(h) for h in held)


@settings(max_examples=200, deadline=None)
@given(
    minute=st.integers(0, 60 * 24 * 800),
    slot=st.sampled_from([1, 5, 10, 15, 20, 30, 45, 60, 90, 120, 160, 180, 240, 720, 1440]),
)
def test_snap_to_grid__is_the_nearest_grid_instant_in_its_direction(minute: int, slot: int) -> None:
    moment = datetime(2026, 6, 1, tzinfo=UTC) + timedelta(minutes=minute, seconds=17)
    up = rules.snap_to_grid(moment, slot, OSLO, up=True)
    down = rules.snap_to_grid(moment, slot, OSLO, up=False)
    assert down <= moment <= up
    assert rules.on_grid(up, slot, OSLO) and rules.on_grid(down, slot, OSLO)
    # No grid instant lies strictly between (checked minute by minute).
    probe = down + timedelta(minutes=1)
    while probe < up:
        assert not rules.on_grid(probe, slot, OSLO)
        probe += timedelta(minutes=1)


@settings(max_examples=200, deadline=None)
@given(
    a_start=st.integers(0, 2000),
    a_len=st.integers(1, 300),
    b_start=st.integers(0, 2000),
    b_len=st.integers(1, 300),
    buffer=st.integers(0, 240),
)
def test_buffer__two_bookings_conflict_exactly_when_closer_than_the_buffer(
    a_start: int, a_len: int, b_start: int, b_len: int, buffer: int
) -> None:
    base = datetime(2027, 1, 1, tzinfo=UTC)
    a = Frame(base + timedelta(minutes=a_start), base + timedelta(minutes=a_start + a_len))
    b = Frame(base + timedelta(minutes=b_start), base + timedelta(minutes=b_start + b_len))
    held_a = Frame(a.start, rules.block_end(a.end, buffer))
    held_b = Frame(b.start, rules.block_end(b.end, buffer))
    gap = max(b.start - a.end, a.start - b.end)
    assert held_a.overlaps(held_b) == (gap < timedelta(minutes=buffer))
