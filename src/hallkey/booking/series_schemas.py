"""Request and response bodies of the series API (a club's weekly season with one key)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from hallkey.booking.schemas import (
    AccessOut,
    CustomerIn,
    CustomerOut,
    DecisionOut,
    Locale,
    PriceGroup,
    ReservationStatus,
)
from hallkey.booking.series_rule import MAX_EVERY_WEEKS, MAX_EXCEPT_DATES
from hallkey.core.schemas import RequestModel, UtcDatetime

IsoWeekday = Annotated[int, Field(ge=1, le=7)]
# Not strict: a JSON body carries a date as its ISO text.
LocalDate = Annotated[date, Field(strict=False)]
WallTime = Annotated[str, Field(min_length=5, max_length=5, description="local HH:MM")]


class SeriesCreate(RequestModel):
    """A weekly series: the resource on these ISO weekdays (1 = Monday) from `start_time` to
    `end_time` (the venue's local time), from `from_date` to `to_date` (inclusive), every
    `every_weeks` weeks, except `except_dates`."""

    resource_id: str = Field(min_length=1, max_length=40)
    weekdays: list[IsoWeekday] = Field(min_length=1, max_length=7)
    start_time: WallTime
    end_time: WallTime
    from_date: LocalDate
    to_date: LocalDate
    every_weeks: int = Field(default=1, ge=1, le=MAX_EVERY_WEEKS)
    except_dates: list[LocalDate] = Field(default_factory=list, max_length=MAX_EXCEPT_DATES)
    customer: CustomerIn
    # `fail`: any occurrence that cannot be booked refuses the whole series (409, all listed);
    # `skip`: the others are booked and the ones that cannot be are listed in `conflicts`.
    on_conflict: Literal["fail", "skip"]
    # As for a reservation: staff may name the price group (else the customer's own).
    price_group: PriceGroup | None = None
    locale: Locale = "nb"


class SeriesCancel(RequestModel):
    """Cancels the occurrences from a local date on (all not yet begun, without `from`)."""

    model_config = ConfigDict(populate_by_name=True)

    from_: LocalDate | None = Field(default=None, alias="from")


class OccurrenceOut(BaseModel):
    id: str
    start: UtcDatetime
    end: UtcDatetime
    status: ReservationStatus


class ConflictOut(BaseModel):
    """An occurrence that could not be booked, and the rule that refused it (`time_taken`,
    `too_late`, `outside_opening_hours`, …)."""

    start: UtcDatetime
    end: UtcDatetime
    reason: str | None = None


class SkippedOut(BaseModel):
    """A date of the rule the series leaves out because the resource is closed then
    (`closed_date` or `public_holiday`)."""

    date: date
    reason: str


class SeriesOut(BaseModel):
    id: str
    ref: str
    status: ReservationStatus
    resource_id: str
    weekdays: list[int]
    start_time: str
    end_time: str
    from_date: date
    to_date: date
    every_weeks: int
    except_dates: list[date]
    version: int
    customer: CustomerOut
    access: AccessOut
    occurrences: list[OccurrenceOut]
    conflicts: list[ConflictOut] = Field(default_factory=list)
    skipped: list[SkippedOut] = Field(default_factory=list)
    locale: Locale = "nb"
    decision: DecisionOut | None = None
