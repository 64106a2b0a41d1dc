"""The pure recurrence of a series (no database, no I/O): which local dates it falls on and
each occurrence's UTC frame.

Dates come from `dateutil.rrule` (WEEKLY on the ISO weekdays, every N weeks, from the first
date to the last, weeks starting on Monday) over local dates, less the exceptions. Each
occurrence is its local date with the series' local wall times, turned into UTC in the
venue's zone, so 18:00 stays 18:00 across both DST changes. A wall time that does not exist
that day (spring forward: 02:30 in Oslo on the last Sunday of March) is read as the moment
the clock jumps (03:00); one shown twice (autumn) starts at its first showing and ends at its
second, the same as opening hours (`domain.local_to_utc`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import MO, WEEKLY, rrule, weekday

from hallkey.booking.domain import Frame, local_to_utc
from hallkey.core.errors import InvalidInput

MAX_SPAN_DAYS = 366
"""A series lasts at most a year from its first date to its last (a season)."""
MAX_EVERY_WEEKS = 52
MAX_EXCEPT_DATES = 400
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class SeriesRule:
    """When a series falls: ISO weekdays (1 = Monday), local times, local dates (inclusive).

    `end` None means 24:00 (the end of the day)."""

    weekdays: tuple[int, ...]
    start: time
    end: time | None
    from_date: date
    to_date: date
    every_weeks: int = 1
    except_dates: frozenset[date] = frozenset()


def parse_time(value: str, field: str, *, end: bool = False) -> time | None:
    """Returns the wall time of "HH:MM" ("24:00" only as an end: None); raises InvalidInput."""
    if end and value == "24:00":
        return None
    match = _HHMM.match(value)
    if match is None:
        raise InvalidInput("a time is HH:MM (00:00 to 23:59, or 24:00 as an end)", field=field)
    return time(int(match.group(1)), int(match.group(2)))


def make_rule(
    *,
    weekdays: Iterable[int],
    start_time: str,
    end_time: str,
    from_date: date,
    to_date: date,
    every_weeks: int = 1,
    except_dates: Iterable[date] = (),
) -> SeriesRule:
    """Returns the rule of a series' request; raises InvalidInput naming the bad field."""
    days = tuple(sorted(set(weekdays)))
    if not days or any(not 1 <= day <= 7 for day in days):
        raise InvalidInput("weekdays are ISO weekdays 1 (Monday) to 7", field="weekdays")
    start = parse_time(start_time, "start_time")
    end = parse_time(end_time, "end_time", end=True)
    assert start is not None
    if end is not None and end <= start:
        raise InvalidInput("end_time must be after start_time", field="end_time")
    if to_date < from_date:
        raise InvalidInput("to_date must not be before from_date", field="to_date")
    if (to_date - from_date).days > MAX_SPAN_DAYS:
        raise InvalidInput(f"a series lasts at most {MAX_SPAN_DAYS} days", field="to_date")
    if not 1 <= every_weeks <= MAX_EVERY_WEEKS:
        raise InvalidInput(f"every_weeks is 1 to {MAX_EVERY_WEEKS}", field="every_weeks")
    excepted = frozenset(except_dates)
    if len(excepted) > MAX_EXCEPT_DATES:
        raise InvalidInput(f"at most {MAX_EXCEPT_DATES} except_dates", field="except_dates")
    return SeriesRule(days, start, end, from_date, to_date, every_weeks, excepted)


def local_dates(rule: SeriesRule) -> list[date]:
    """Returns the local dates of the series' occurrences, in order, without its exceptions."""
    recurrence = rrule(
        WEEKLY,
        interval=rule.every_weeks,
        byweekday=[weekday(day - 1) for day in rule.weekdays],
        wkst=MO,
        dtstart=datetime.combine(rule.from_date, time()),
        until=datetime.combine(rule.to_date, time()),
    )
    return [moment.date() for moment in recurrence if moment.date() not in rule.except_dates]


def occurrence_frame(rule: SeriesRule, day: date, tz: ZoneInfo) -> Frame:
    """Returns the UTC frame of the occurrence on a local date (its local times kept)."""
    start = local_to_utc(day, rule.start, tz)
    end = local_to_utc(day, rule.end, tz, closing=True)
    if end <= start:  # a gap swallowed the whole occurrence: it lasts until the jump
        end = start + timedelta(minutes=1)
    return Frame(start, end)
