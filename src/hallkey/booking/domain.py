"""Pure booking rules: time frames, access windows and opening hours (no database, no I/O)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hallkey.core.errors import InvalidInput

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""Keys of an opening-hours mapping, in ISO weekday order (Monday first)."""

BLOCKING_STATUSES: tuple[str, ...] = ("requested", "confirmed")
"""Reservation statuses that hold their time frame; two of them never overlap on one resource."""

RESERVATION_STATUSES: tuple[str, ...] = ("requested", "confirmed", "denied", "cancelled")
ACCESS_STATES: tuple[str, ...] = ("pending", "granted", "failed", "revoked")
CREDENTIALS: tuple[str, ...] = ("pin", "mobile_key", "url_key", "sms")
ACCESS_OPERATIONS: tuple[str, ...] = ("code", "unlock")

MAX_AVAILABILITY_SPAN = timedelta(days=62)

OpeningHours = Mapping[str, Sequence[Sequence[str]]]
"""`{"mon": [["08:00", "22:00"]], …}` in a venue's wall time; a missing day is closed."""

_HHMM = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")


@dataclass(frozen=True, order=True)
class Frame:
    """A half-open time frame `[start, end)` in UTC."""

    start: datetime
    end: datetime

    def overlaps(self, other: Frame) -> bool:
        """Tells whether two half-open frames share an instant (touching ends do not)."""
        return self.start < other.end and other.start < self.end

    def contains(self, other: Frame) -> bool:
        """Tells whether `other` lies wholly inside this frame."""
        return self.start <= other.start and other.end <= self.end

    @property
    def duration(self) -> timedelta:
        """Returns the real (elapsed) length of the frame."""
        return self.end - self.start


def validate_frame(start: datetime, end: datetime, now: datetime) -> Frame:
    """Returns the frame `[start, end)`; raises InvalidInput (field `end`) when it is unusable."""
    if end <= start:
        raise InvalidInput("end must be after start", field="end")
    if end <= now:
        raise InvalidInput("end must be in the future", field="end")
    return Frame(start.astimezone(UTC), end.astimezone(UTC))


@dataclass(frozen=True)
class BookingRules:
    """A resource's limits on one booking: its shortest and longest length, how far ahead."""

    min_minutes: int = 15
    max_minutes: int = 24 * 60
    horizon_days: int = 365


def check_rules(frame: Frame, rules: BookingRules, now: datetime) -> None:
    """Raises InvalidInput (field `end` for the length, `start` for the horizon) when the frame
    breaks the resource's rules. Checked before anything whose cost grows with the frame."""
    if frame.duration > timedelta(minutes=rules.max_minutes):
        raise InvalidInput(
            f"a booking lasts at most {rules.max_minutes} minutes", field="end", code="too_long"
        )
    if frame.duration < timedelta(minutes=rules.min_minutes):
        raise InvalidInput(
            f"a booking lasts at least {rules.min_minutes} minutes", field="end", code="too_short"
        )
    if frame.start > now + timedelta(days=rules.horizon_days):
        raise InvalidInput(
            f"a booking starts at most {rules.horizon_days} days ahead",
            field="start",
            code="too_far_ahead",
        )


def access_window(frame: Frame, before_minutes: int, after_minutes: int) -> Frame:
    """Returns the frame in which the door accepts the credential: the booking widened."""
    return Frame(
        frame.start - timedelta(minutes=before_minutes),
        frame.end + timedelta(minutes=after_minutes),
    )


def zone(name: str) -> ZoneInfo:
    """Returns the time zone named `name`; raises InvalidInput (field `timezone`) if unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput("timezone is not a known IANA time zone", field="timezone") from exc


def _parse_hhmm(value: str) -> time | None:
    """Returns the wall time of `HH:MM`; None for `24:00` (the end of the day)."""
    match = _HHMM.match(value)
    if match is None or (match.group(1) == "24" and match.group(2) != "00"):
        raise InvalidInput("opening hours must be HH:MM times", field="opening_hours")
    if match.group(1) == "24":
        return None
    return time(int(match.group(1)), int(match.group(2)))


def validate_opening_hours(hours: OpeningHours | None) -> dict[str, list[list[str]]] | None:
    """Returns the opening hours in canonical form; raises InvalidInput if malformed."""
    if hours is None:
        return None
    result: dict[str, list[list[str]]] = {}
    for day, intervals in hours.items():
        if day not in WEEKDAYS:
            raise InvalidInput("opening hours are keyed by mon…sun", field="opening_hours")
        result[day] = []
        for interval in intervals:
            if len(interval) != 2:
                raise InvalidInput("opening hours are [open, close] pairs", field="opening_hours")
            opens, closes = interval[0], interval[1]
            open_time = _parse_hhmm(opens)
            close_time = _parse_hhmm(closes)
            if open_time is None or (close_time is not None and close_time <= open_time):
                raise InvalidInput("an opening must close after it opens", field="opening_hours")
            result[day].append([opens, closes])
    return result


def _gap_end(local: datetime, tz: ZoneInfo) -> datetime | None:
    """Returns the instant (UTC) a DST gap ends when the wall time `local` falls in one, or None.

    In a gap (spring forward) the wall time never shows: read with the offset before the change
    it lies after the change, read with the one after it lies before; the change is between.
    """
    after = local.replace(fold=0).astimezone(UTC)
    if after.astimezone(tz).replace(tzinfo=None, fold=0) == local.replace(tzinfo=None, fold=0):
        return None
    before = local.replace(fold=1).astimezone(UTC)
    low, high = min(before, after), max(before, after)
    offset_after = high.astimezone(tz).utcoffset()
    # Bisect to the first second with the new offset (a gap lasts at most a few hours).
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(tz).utcoffset() == offset_after:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0)


def local_to_utc(day: date, wall: time | None, tz: ZoneInfo, *, closing: bool = False) -> datetime:
    """Returns the instant of a wall time on a day in the venue's zone.

    A wall time in the spring-forward gap is the gap's end (an opening that starts or ends in
    the missing hour starts or ends when the clock jumps). A wall time shown twice (autumn) is
    the first showing for an opening and the second for a closing, so the opening covers every
    instant whose wall time lies between the two.
    """
    if wall is None:  # 24:00 is midnight at the start of the next day
        day, wall = day + timedelta(days=1), time(0)
    local = datetime.combine(day, wall, tzinfo=tz)
    gap_end = _gap_end(local, tz)
    if gap_end is not None:
        return gap_end
    return local.replace(fold=1 if closing else 0).astimezone(UTC)


def opening_frames(hours: OpeningHours, tz: ZoneInfo, span: Frame) -> list[Frame]:
    """Returns the merged opening frames (UTC) that touch `span`, from the venue's wall times.

    Each opening is read in the venue's local wall time on its own date, so on a DST change
    day `08:00-22:00` still opens at 08:00 local (and lasts 13 or 15 real hours).
    """
    first = span.start.astimezone(tz).date() - timedelta(days=1)
    last = span.end.astimezone(tz).date() + timedelta(days=1)
    frames: list[Frame] = []
    day = first
    while day <= last:
        for opens, closes in hours.get(WEEKDAYS[day.weekday()], ()):
            start = local_to_utc(day, _parse_hhmm(opens), tz)
            end = local_to_utc(day, _parse_hhmm(closes), tz, closing=True)
            if end > start:
                frames.append(Frame(start, end))
        day += timedelta(days=1)
    return [f for f in merge(frames) if f.overlaps(span)]


def merge(frames: Iterable[Frame]) -> list[Frame]:
    """Returns the frames sorted, with overlapping or touching frames joined."""
    result: list[Frame] = []
    for frame in sorted(frames):
        if result and frame.start <= result[-1].end:
            last = result[-1]
            result[-1] = Frame(last.start, max(last.end, frame.end))
        else:
            result.append(frame)
    return result


def within_opening_hours(frame: Frame, hours: OpeningHours | None, tz: ZoneInfo) -> bool:
    """Tells whether the whole frame lies inside the opening hours (None = always open)."""
    if hours is None:
        return True
    return any(opening.contains(frame) for opening in opening_frames(hours, tz, frame))


def check_opening_hours(frame: Frame, hours: OpeningHours | None, tz: ZoneInfo) -> None:
    """Raises InvalidInput (field `start`) when the frame is not inside the opening hours."""
    if not within_opening_hours(frame, hours, tz):
        raise InvalidInput(
            "the time is outside the resource's opening hours",
            field="start",
            code="outside_opening_hours",
        )


def validate_availability_range(start: datetime, end: datetime) -> Frame:
    """Returns the queried range; raises InvalidInput (field `to`) if empty or too long."""
    if end <= start:
        raise InvalidInput("to must be after from", field="to")
    if end - start > MAX_AVAILABILITY_SPAN:
        raise InvalidInput("to must be at most 62 days after from", field="to")
    return Frame(start.astimezone(UTC), end.astimezone(UTC))


def free_frames(
    span: Frame, hours: OpeningHours | None, tz: ZoneInfo, busy: Iterable[Frame]
) -> list[Frame]:
    """Returns the parts of `span` inside the opening hours that no busy frame covers."""
    if hours is None:
        open_frames = [span]
    else:
        open_frames = [
            Frame(max(f.start, span.start), min(f.end, span.end))
            for f in opening_frames(hours, tz, span)
            if f.overlaps(span)
        ]
    blocked = merge(busy)
    free: list[Frame] = []
    for opening in open_frames:
        cursor = opening.start
        for taken in blocked:
            if taken.end <= cursor or taken.start >= opening.end:
                continue
            if taken.start > cursor:
                free.append(Frame(cursor, taken.start))
            cursor = max(cursor, taken.end)
        if cursor < opening.end:
            free.append(Frame(cursor, opening.end))
    return free


def clip(frame: Frame, span: Frame) -> Frame:
    """Returns the part of `frame` inside `span` (they must overlap)."""
    return Frame(max(frame.start, span.start), min(frame.end, span.end))
