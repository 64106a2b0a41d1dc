"""The week a resource's page shows, in the venue's time zone: which week (`?week=2026-W49`
or `?from=2026-12-03`), its span in UTC, and each local day's free and taken time as a list
(the availability service says what is free and what is taken; this only lays it out).

Also the opening hours as people read them (e.g. "man.-fre. 08:00-22:00", with en dashes)
and a booking form's local wall times (`2026-12-03T18:00`, as a `datetime-local` input sends
them) read in the venue's zone, DST-correct.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.dates import get_day_names

from hallkey.booking.domain import WEEKDAYS
from hallkey.booking.schemas import AvailabilityOut
from hallkey.core.errors import InvalidInput
from hallkey.core.pages.i18n import babel_locale

DAYS = 7
_ISO_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


@dataclass(frozen=True)
class Stretch:
    """A stretch of one local day: free (`free=True`) or taken, with local wall times; a free
    one also carries a suggested booking (`pick_start`, `pick_end` as form values)."""

    start: datetime
    end: datetime
    free: bool
    pick_start: str = ""
    pick_end: str = ""

    @property
    def start_text(self) -> str:
        """Returns the local start as `HH:MM`."""
        return self.start.strftime("%H:%M")

    @property
    def end_text(self) -> str:
        """Returns the local end as `HH:MM`, `24:00` when it is the next midnight."""
        if self.end.date() > self.start.date():
            return "24:00"
        return self.end.strftime("%H:%M")


@dataclass(frozen=True)
class Day:
    """One local day of the week (`at`: its local midnight) with its stretches, earliest
    first (none: nothing bookable)."""

    day: date
    at: datetime
    stretches: list[Stretch]


def first_day(week: str | None, from_: str | None, today: date) -> date:
    """Returns the first day shown: the Monday of an ISO `week`, the date `from_`, or today;
    raises InvalidInput (field `week` or `from`) for a malformed one."""
    if week:
        match = _ISO_WEEK.match(week)
        try:
            if match is None:
                raise ValueError(week)
            return date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)
        except ValueError:
            raise InvalidInput("week is an ISO week such as 2026-W49", field="week") from None
    if from_:
        try:
            return date.fromisoformat(from_)
        except ValueError:
            raise InvalidInput("from is a date such as 2026-12-03", field="from") from None
    return today


def span(first: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """Returns the UTC span of the 7 local days from `first` (a DST week is 167 or 169 h)."""
    start = datetime.combine(first, time(0), tzinfo=zone)
    end = datetime.combine(first + timedelta(days=DAYS), time(0), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def midnight(day: date, zone: ZoneInfo) -> datetime:
    """Returns the local midnight that starts a day (for the pages' date filters)."""
    return datetime.combine(day, time(0), tzinfo=zone)


def iso_week(day: date) -> str:
    """Returns the ISO week of a date as the page's `week` parameter, e.g. `2026-W49`."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def _suggest(start: datetime, end: datetime, minutes: int, grid: int) -> tuple[str, str]:
    """Returns a first booking inside a free stretch: its start rounded up to the grid, as long
    as the usual booking or what fits."""
    offset = (start.hour * 60 + start.minute) % grid
    if offset or start.second or start.microsecond:
        start = start.replace(second=0, microsecond=0) + timedelta(minutes=grid - offset)
    stop = min(end, start + timedelta(minutes=minutes))
    if stop <= start:
        return "", ""
    return start.strftime(LOCAL_FORMAT), stop.strftime(LOCAL_FORMAT)


def days(
    first: date,
    zone: ZoneInfo,
    found: AvailabilityOut,
    *,
    usual_minutes: int,
    grid_minutes: int,
) -> list[Day]:
    """Returns the 7 local days from `first`, each with its free and taken stretches (a
    stretch across midnight shows on both days)."""
    frames = [(f.start, f.end, True) for f in found.free] + [
        (f.start, f.end, False) for f in found.busy
    ]
    result: list[Day] = []
    for number in range(DAYS):
        day = first + timedelta(days=number)
        day_start, day_end = midnight(day, zone), midnight(day + timedelta(days=1), zone)
        stretches: list[Stretch] = []
        for start, end, free in sorted(frames, key=lambda item: item[0]):
            local_start = max(start, day_start.astimezone(UTC)).astimezone(zone)
            local_end = min(end, day_end.astimezone(UTC)).astimezone(zone)
            if local_start >= local_end:
                continue
            pick = (
                _suggest(local_start, local_end, usual_minutes, grid_minutes) if free else ("", "")
            )
            stretches.append(Stretch(local_start, local_end, free, *pick))
        result.append(Day(day, day_start, stretches))
    return result


def hours_summary(hours: Mapping[str, Sequence[Sequence[str]]] | None, lang: str) -> list[str]:
    """Returns opening hours as lines people read; consecutive days with the same hours share
    a line; closed days are left out. [] means always open."""
    if hours is None:
        return []
    names = get_day_names("abbreviated", locale=babel_locale(lang))
    lines: list[str] = []
    index = 0
    while index < len(WEEKDAYS):
        today = _hours_text(hours.get(WEEKDAYS[index], []))
        last = index
        while last + 1 < len(WEEKDAYS) and _hours_text(hours.get(WEEKDAYS[last + 1], [])) == today:
            last += 1
        if today:
            label = names[index] if last == index else f"{names[index]}\u2013{names[last]}"
            lines.append(f"{label} {today}")
        index = last + 1
    return lines


def _hours_text(intervals: Sequence[Sequence[str]]) -> str:
    return ", ".join(f"{item[0]}\u2013{item[1]}" for item in intervals)


def read_local(value: str, zone: ZoneInfo, field: str) -> datetime:
    """Returns the UTC instant of a form's wall time in the venue's zone (an RFC 3339 time
    with an offset is taken as it is). A wall time that does not exist (the hour skipped
    when clocks go forward) is refused; one that occurs twice (clocks go back) is the first.
    Raises InvalidInput naming `field`."""
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput("not a valid time", field=field, code="bad_time") from None
    if parsed.tzinfo is not None:
        return parsed.astimezone(UTC)
    local = parsed.replace(tzinfo=zone, fold=0)
    instant = local.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != parsed:
        raise InvalidInput(
            "this time does not exist on that day (the clocks go forward)",
            field=field,
            code="no_such_time",
        )
    return instant


def local_value(moment: datetime | None, zone: ZoneInfo) -> str:
    """Returns an instant as a `datetime-local` form value in the venue's zone."""
    return "" if moment is None else moment.astimezone(zone).strftime(LOCAL_FORMAT)
