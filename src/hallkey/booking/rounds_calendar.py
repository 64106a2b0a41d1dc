"""The pure arithmetic of a round's weekly slots: wall times, overlaps, the dates of a weekday
in the season, their instants in the venue's zone (DST-correct), and minutes. No I/O."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from hallkey.booking import domain


def wall(value: str) -> time:
    """Returns the wall time of a canonical `HH:MM`."""
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def minutes_of(start_time: str, end_time: str) -> int:
    """Returns the wall-clock minutes from `start_time` to `end_time` (same day)."""
    start, end = wall(start_time), wall(end_time)
    return (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)


@dataclass(frozen=True)
class Slot:
    """A weekly slot: a resource, an ISO weekday (1 = Monday) and a wall-clock frame."""

    resource_id: str
    weekday: int
    start_time: str
    end_time: str

    def overlaps(self, other: Slot) -> bool:
        """Tells whether the two slots hold the same resource at some same moment of a week."""
        return (
            self.resource_id == other.resource_id
            and self.weekday == other.weekday
            and self.start_time < other.end_time
            and other.start_time < self.end_time
        )

    @property
    def minutes(self) -> int:
        """Returns the slot's length in minutes."""
        return minutes_of(self.start_time, self.end_time)


def dates_of(weekday: int, period_from: date, period_to: date) -> Iterator[date]:
    """Yields the dates of an ISO weekday within the period (both ends included)."""
    day = period_from + timedelta(days=(weekday - period_from.isoweekday()) % 7)
    while day <= period_to:
        yield day
        day += timedelta(days=7)


def weeks_of(weekday: int, period_from: date, period_to: date) -> int:
    """Returns how many times the weekday occurs within the period."""
    first = period_from + timedelta(days=(weekday - period_from.isoweekday()) % 7)
    return 0 if first > period_to else (period_to - first).days // 7 + 1


@lru_cache(maxsize=8192)
def occurrence(day: date, start_time: str, end_time: str, tz: ZoneInfo) -> domain.Frame:
    """Returns the instants (UTC) of a slot on one local date (cached: an overview asks for
    the same few slots on the same dates again and again)."""
    return domain.Frame(
        domain.local_to_utc(day, wall(start_time), tz),
        domain.local_to_utc(day, wall(end_time), tz, closing=True),
    )


def period_frame(period_from: date, period_to: date, tz: ZoneInfo) -> domain.Frame:
    """Returns the whole period as instants: from the first day's start to the last day's end."""
    return domain.Frame(
        domain.local_to_utc(period_from, time(0), tz),
        domain.local_to_utc(period_to, None, tz),
    )


def local_dates(start: datetime, end: datetime, tz: ZoneInfo) -> list[date]:
    """Returns the local dates a frame `[start, end)` touches."""
    first = start.astimezone(tz).date()
    last = (end - timedelta(microseconds=1)).astimezone(tz).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]
