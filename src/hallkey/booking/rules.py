"""Pure booking rules of a resource (no database, no I/O): part of the booking domain.

`domain.py` holds time frames and opening hours; this module adds the rest of a resource's
rules — closed dates and periods, Norway's public holidays, the slot grid, lead time, the
cleaning buffer, open bookings per customer, free cancellation — each a pure function that
raises `InvalidInput` with a `code` naming the rule, and `free_frames`, the availability that
offers nothing a booking would be refused for.

Local things (dates, the grid, opening hours) are read in the venue's time zone; the grid is
the wall clock's (`slot_minutes` divides a day, anchored at local midnight), so on a DST day
18:00 is on a one-hour grid whatever the offset.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import holidays

from hallkey.booking.domain import (
    BookingRules,
    Frame,
    OpeningHours,
    check_opening_hours,
    check_rules,
    local_to_utc,
    merge,
)
from hallkey.booking.domain import free_frames as open_free_frames
from hallkey.core.errors import InvalidInput

MAX_CLOSED_PERIODS = 200
MAX_BUFFER_MINUTES = 24 * 60
MAX_LEAD_MINUTES = 90 * 24 * 60
MAX_OPEN_BOOKINGS = 10_000
MAX_CANCELLATION_HOURS = 365 * 24
HOLIDAY_COUNTRY = "NO"
NO_HORIZON_DAYS = 100 * 366
"""A horizon no booking reaches (a series' later occurrences are not bound by the horizon)."""


@dataclass(frozen=True)
class ClosedPeriod:
    """Local dates `[first, last]` (inclusive) on which the resource takes no booking."""

    first: date
    last: date
    reason: str | None = None


@dataclass(frozen=True)
class ResourceRules:
    """Every rule a booking of one resource must keep (besides its opening hours)."""

    min_minutes: int = 15
    max_minutes: int = 24 * 60
    horizon_days: int = 365
    slot_minutes: int | None = None
    lead_minutes: int = 0
    buffer_minutes: int = 0
    closed: tuple[ClosedPeriod, ...] = ()
    public_holidays_closed: bool = False
    max_open_bookings: int | None = None
    free_cancellation_hours: int | None = None

    @property
    def limits(self) -> BookingRules:
        """Returns the length and horizon rules."""
        return BookingRules(self.min_minutes, self.max_minutes, self.horizon_days)


# --- set-up values ----------------------------------------------------------------------


def validate_closed_periods(items: Iterable[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    """Returns closed periods in canonical JSON form (`{"from", "to", "reason"}`, ISO dates,
    sorted); raises InvalidInput (field `closed_periods`) when one is malformed."""
    result: list[dict[str, Any]] = []
    for item in items or ():
        try:
            first = _as_date(item["from"])
            last = _as_date(item["to"])
        except (KeyError, TypeError, ValueError):
            raise InvalidInput(
                "closed periods are {from, to, reason?} with ISO dates", field="closed_periods"
            ) from None
        if last < first:
            raise InvalidInput("a closed period ends before it starts", field="closed_periods")
        reason = item.get("reason")
        if reason is not None and (not isinstance(reason, str) or len(reason) > 200):
            raise InvalidInput("a reason is a text of at most 200", field="closed_periods")
        result.append({"from": first.isoformat(), "to": last.isoformat(), "reason": reason})
    if len(result) > MAX_CLOSED_PERIODS:
        raise InvalidInput(f"at most {MAX_CLOSED_PERIODS} closed periods", field="closed_periods")
    return sorted(result, key=lambda p: (p["from"], p["to"]))


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        raise TypeError("a date, not a time")
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def closed_periods(stored: Sequence[Mapping[str, Any]] | None) -> tuple[ClosedPeriod, ...]:
    """Returns the closed periods of their stored (canonical) JSON form."""
    return tuple(
        ClosedPeriod(date.fromisoformat(p["from"]), date.fromisoformat(p["to"]), p.get("reason"))
        for p in stored or ()
    )


def check_rule_values(
    *,
    slot_minutes: int | None,
    lead_minutes: int,
    buffer_minutes: int,
    max_open_bookings: int | None,
    free_cancellation_hours: int | None,
) -> None:
    """Raises InvalidInput naming the first of these rules that is out of bounds."""
    if slot_minutes is not None and not (1 <= slot_minutes <= 1440 and 1440 % slot_minutes == 0):
        raise InvalidInput("must divide a day (1 to 1440 minutes)", field="slot_minutes")
    if not 0 <= lead_minutes <= MAX_LEAD_MINUTES:
        raise InvalidInput(f"must be 0 to {MAX_LEAD_MINUTES} minutes", field="lead_minutes")
    if not 0 <= buffer_minutes <= MAX_BUFFER_MINUTES:
        raise InvalidInput(f"must be 0 to {MAX_BUFFER_MINUTES} minutes", field="buffer_minutes")
    if max_open_bookings is not None and not 1 <= max_open_bookings <= MAX_OPEN_BOOKINGS:
        raise InvalidInput(f"must be 1 to {MAX_OPEN_BOOKINGS}", field="max_open_bookings")
    if free_cancellation_hours is not None and not (
        0 <= free_cancellation_hours <= MAX_CANCELLATION_HOURS
    ):
        raise InvalidInput(
            f"must be 0 to {MAX_CANCELLATION_HOURS} hours", field="free_cancellation_hours"
        )


# --- the rules ----------------------------------------------------------------------------


def check_lead(frame: Frame, lead_minutes: int, now: datetime) -> None:
    """Raises `too_late` (field `start`) when the frame starts sooner than the lead time.

    A lead time of 0 is no rule: a booking may then also have begun (a walk-in).
    """
    if lead_minutes and frame.start < now + timedelta(minutes=lead_minutes):
        raise InvalidInput(
            f"a booking must be made at least {lead_minutes} minutes before it starts",
            field="start",
            code="too_late",
        )


def _offset_minutes(moment: datetime, tz: ZoneInfo) -> int:
    offset = moment.astimezone(tz).utcoffset()
    assert offset is not None
    return int(offset.total_seconds()) // 60


def on_grid(moment: datetime, slot_minutes: int, tz: ZoneInfo) -> bool:
    """Tells whether the instant's local wall time is a whole number of slots after midnight."""
    local = moment.astimezone(tz)
    if local.second or local.microsecond:
        return False
    return (local.hour * 60 + local.minute) % slot_minutes == 0


def check_grid(frame: Frame, slot_minutes: int | None, tz: ZoneInfo) -> None:
    """Raises `off_grid` (field `start` or `end`) when the frame leaves the slot grid."""
    if slot_minutes is None:
        return
    for field, moment in (("start", frame.start), ("end", frame.end)):
        if not on_grid(moment, slot_minutes, tz):
            raise InvalidInput(
                f"bookings start and end on a {slot_minutes}-minute grid from midnight",
                field=field,
                code="off_grid",
            )


def _epoch_minutes(moment: datetime) -> int:
    return int(moment.timestamp()) // 60


def _at_minute(minute: int) -> datetime:
    return datetime.fromtimestamp(minute * 60, UTC)


def snap_to_grid(moment: datetime, slot_minutes: int, tz: ZoneInfo, *, up: bool) -> datetime:
    """Returns the first grid instant at or after `moment` (`up`), or the last at or before.

    On the grid means (UTC minute + UTC offset) divisible by the slot, which is the wall time's
    minute of the day divisible by it, since a slot divides a day. Within one offset the grid
    steps evenly; where the offset changes before the candidate, the search goes on from the
    change (found by bisection, at most a few steps a DST change).
    """
    step = 1 if up else -1
    minute = math.ceil(moment.timestamp() / 60) if up else math.floor(moment.timestamp() / 60)
    for _ in range(8):
        offset = _offset_minutes(_at_minute(minute), tz)
        distance = (-(minute + offset)) % slot_minutes if up else (minute + offset) % slot_minutes
        candidate = minute + step * distance
        if _offset_minutes(_at_minute(candidate), tz) == offset:
            return _at_minute(candidate)
        # The offset changes between `minute` and `candidate`: go on from the first minute
        # with the other offset.
        near, far = minute, candidate
        while abs(far - near) > 1:
            middle = (near + far) // 2
            if _offset_minutes(_at_minute(middle), tz) == offset:
                near = middle
            else:
                far = middle
        minute = far
    raise AssertionError("no grid instant near a DST change")  # pragma: no cover


def local_dates(frame: Frame, tz: ZoneInfo) -> list[date]:
    """Returns the local dates the frame touches (its end is exclusive)."""
    first = frame.start.astimezone(tz).date()
    last = (frame.end - timedelta(microseconds=1)).astimezone(tz).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


@functools.lru_cache(maxsize=64)
def _holidays_of(year: int) -> dict[date, str]:
    found = holidays.country_holidays(HOLIDAY_COUNTRY, years=year)
    return {day: str(name) for day, name in found.items()}


def public_holiday(day: date) -> str | None:
    """Returns the name of Norway's public holiday on this date, or None."""
    return _holidays_of(day.year).get(day)


def closed_reason(day: date, rules: ResourceRules) -> tuple[str, str] | None:
    """Returns (code, message) when the resource is closed on this local date, or None."""
    for period in rules.closed:
        if period.first <= day <= period.last:
            why = f" ({period.reason})" if period.reason else ""
            return "closed_date", f"the resource is closed on {day.isoformat()}{why}"
    if rules.public_holidays_closed:
        name = public_holiday(day)
        if name is not None:
            return "public_holiday", f"the resource is closed on public holidays ({name})"
    return None


def check_closed(frame: Frame, rules: ResourceRules, tz: ZoneInfo) -> None:
    """Raises `closed_date` or `public_holiday` (field `start`) when the frame touches a day
    on which the resource is closed."""
    if not rules.closed and not rules.public_holidays_closed:
        return
    for day in local_dates(frame, tz):
        found = closed_reason(day, rules)
        if found is not None:
            raise InvalidInput(found[1], field="start", code=found[0])


def check_frame(
    frame: Frame,
    rules: ResourceRules,
    hours: OpeningHours | None,
    tz: ZoneInfo,
    now: datetime,
    *,
    new_start: bool = True,
) -> None:
    """Raises InvalidInput naming the first rule the frame breaks (a 422 with its code).

    Length and horizon come first, so no later check works through years of days. The lead
    time is checked only for a new start (`new_start`): a booking that has begun may still be
    lengthened.
    """
    check_rules(frame, rules.limits, now)
    if new_start:
        check_lead(frame, rules.lead_minutes, now)
    check_grid(frame, rules.slot_minutes, tz)
    check_closed(frame, rules, tz)
    check_opening_hours(frame, hours, tz)


def check_open_bookings(open_count: int, max_open_bookings: int | None) -> None:
    """Raises `too_many_open_bookings` (field `customer.email`) when one more is too many."""
    if max_open_bookings is not None and open_count >= max_open_bookings:
        raise InvalidInput(
            f"a customer may hold at most {max_open_bookings} open bookings of this resource",
            field="customer.email",
            code="too_many_open_bookings",
        )


def block_end(end: datetime, buffer_minutes: int) -> datetime:
    """Returns the end of the time a reservation holds: its end and the cleaning buffer."""
    return end + timedelta(minutes=buffer_minutes)


def cancellation_charged(
    start: datetime, now: datetime, free_cancellation_hours: int | None
) -> bool:
    """Tells whether a cancellation now is later than the free cancellation allows."""
    if free_cancellation_hours is None:
        return False
    return now > start - timedelta(hours=free_cancellation_hours)


# --- availability -------------------------------------------------------------------------


def closed_frames(span: Frame, rules: ResourceRules, tz: ZoneInfo) -> list[Frame]:
    """Returns the UTC frames of the closed local days that touch `span`."""
    if not rules.closed and not rules.public_holidays_closed:
        return []
    frames = []
    for day in local_dates(span, tz):
        if closed_reason(day, rules) is not None:
            start = local_to_utc(day, time(0), tz)
            frames.append(Frame(start, local_to_utc(day + timedelta(days=1), time(0), tz)))
    return merge(frames)


def free_frames(
    span: Frame,
    rules: ResourceRules,
    hours: OpeningHours | None,
    tz: ZoneInfo,
    held: Iterable[Frame],
    now: datetime,
) -> list[Frame]:
    """Returns the parts of `span` where a booking of at least the shortest length would be
    accepted: inside the opening hours, off the closed days, clear of every held frame (a
    reservation and its buffer) by this resource's buffer, not sooner than the lead time nor
    later than the horizon, on the grid.

    A booking may start before the horizon and end after it; the frames stop at the horizon
    (they never offer a start beyond it).
    """
    buffer = timedelta(minutes=rules.buffer_minutes)
    blocked = [Frame(f.start - buffer, f.end) for f in held]
    blocked += closed_frames(span, rules, tz)
    earliest = now + timedelta(minutes=rules.lead_minutes) if rules.lead_minutes else now
    latest = now + timedelta(days=rules.horizon_days)
    window = Frame(max(span.start, earliest), min(span.end, latest))
    if window.end <= window.start:
        return []
    shortest = timedelta(minutes=rules.min_minutes)
    result = []
    for frame in open_free_frames(window, hours, tz, blocked):
        if rules.slot_minutes is not None:
            frame = Frame(
                snap_to_grid(frame.start, rules.slot_minutes, tz, up=True),
                snap_to_grid(frame.end, rules.slot_minutes, tz, up=False),
            )
        if frame.end - frame.start >= shortest:
            result.append(frame)
    return result
