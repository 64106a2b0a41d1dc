"""What the usage report answers (`GET /api/v1/usage`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from hallkey.core.schemas import UtcDatetime

Usage = Literal["unknown", "used", "no_show", "not_applicable"]
"""Whether a reservation was used: `used` (a door let its key in), `no_show` (its access window
ended without that), `unknown` (not yet ended, nothing seen yet), `not_applicable` (not a
confirmed booking with a key: requested, cancelled, denied, or a public event's unlock)."""


class Tally(BaseModel):
    """How many reservations, and how long they are (from UTC durations: a DST day's 23 or 25
    hours count as such)."""

    count: int = 0
    minutes: int = 0
    hours: float = 0.0


class UsageTotals(BaseModel):
    """The confirmed bookings (`booked`), split by their usage."""

    booked: Tally = Field(default_factory=Tally)
    used: Tally = Field(default_factory=Tally)
    no_show: Tally = Field(default_factory=Tally)
    unknown: Tally = Field(default_factory=Tally)
    not_applicable: Tally = Field(default_factory=Tally)


class ResourceUsageOut(UsageTotals):
    resource_id: str
    name: str


class NoShowOut(BaseModel):
    """A confirmed booking whose access window ended with no door letting its key in. The
    customer (organisation, else name) only for callers who may see customers."""

    id: str
    ref: str
    resource_id: str
    resource: str
    start: UtcDatetime
    end: UtcDatetime
    customer: str | None = None


class UsageOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    venue_id: str
    from_: UtcDatetime = Field(alias="from")
    to: UtcDatetime
    resources: list[ResourceUsageOut]
    total: UsageTotals
    no_shows: list[NoShowOut]
