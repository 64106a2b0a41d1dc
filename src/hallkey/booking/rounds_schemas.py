"""Request and response bodies of application rounds (`/api/v1/rounds…`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field

from hallkey.booking.office_schemas import Email, Name, OrgNumber, Phone, Text
from hallkey.booking.schemas import Locale
from hallkey.core.schemas import RequestModel, UtcDatetime

AgeGroup = Literal["0-5", "6-12", "13-19", "20-25", "26+"]
AGE_GROUPS: tuple[AgeGroup, ...] = get_args(AgeGroup)
"""The fixed age groups a wish names (the participants' main group), for the statistics."""
WishStatus = Literal["wished", "allocated", "declined"]
RoundStatus = Literal["open", "closed", "publishing", "published"]

MAX_PERIOD_DAYS = 366
MAX_WISHES = 50
MAX_RESOURCES = 100


def _parse_date(value: object) -> object:
    """Returns a `YYYY-MM-DD` text as a date (strict bodies take no other form)."""
    if isinstance(value, str):
        try:
            return date.fromisoformat(value) if len(value) == 10 else value
        except ValueError:
            raise ValueError("must be a date YYYY-MM-DD") from None
    return value


def _check_year(value: date) -> date:
    if not 2000 <= value.year <= 2199:
        raise ValueError("must be a date between the years 2000 and 2199")
    return value


LocalDate = Annotated[date, BeforeValidator(_parse_date), AfterValidator(_check_year)]
"""A local date `YYYY-MM-DD` (in the venues' time zone)."""
WallTime = Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", examples=["18:00"])]
"""A wall-clock time `HH:MM` in the venue's time zone (00:00 to 23:59)."""
Id = Annotated[str, Field(min_length=1, max_length=40)]


def _unique(values: list[str]) -> list[str]:
    if len(set(values)) != len(values):
        raise ValueError("must not repeat an id")
    return values


class RoundCreate(RequestModel):
    """A new application round: the season (local dates), its resources and the deadline."""

    name: Name = Field(min_length=1, max_length=200)
    period_from: LocalDate
    period_to: LocalDate
    resource_ids: Annotated[
        list[Id], Field(min_length=1, max_length=MAX_RESOURCES), AfterValidator(_unique)
    ]
    deadline: UtcDatetime


class RoundPatch(RequestModel):
    """The fields of an open round to change."""

    name: Name | None = Field(default=None, min_length=1, max_length=200)
    period_from: LocalDate | None = None
    period_to: LocalDate | None = None
    resource_ids: (
        Annotated[list[Id], Field(min_length=1, max_length=MAX_RESOURCES), AfterValidator(_unique)]
        | None
    ) = None
    deadline: UtcDatetime | None = None


class RoundOut(BaseModel):
    id: str
    name: str
    period_from: date
    period_to: date
    resource_ids: list[str]
    deadline: datetime
    status: RoundStatus
    applications: int
    published_at: datetime | None


class OrganisationIn(RequestModel):
    name: Name = Field(min_length=1, max_length=200)
    org_number: OrgNumber = Field(max_length=32)
    email: Email = Field(min_length=3, max_length=320)
    phone: Phone = Field(min_length=1, max_length=40)


class WishIn(RequestModel):
    """One weekly slot wished for; `priority` 1 is the most wanted."""

    resource_id: Id
    weekday: int = Field(ge=1, le=7, description="ISO weekday: 1 = Monday … 7 = Sunday")
    start_time: WallTime
    end_time: WallTime
    priority: int = Field(ge=1, le=MAX_WISHES)
    age_group: AgeGroup
    participants: int = Field(ge=1, le=10_000)


class ApplicationCreate(RequestModel):
    organisation: OrganisationIn
    wishes: list[WishIn] = Field(min_length=1, max_length=MAX_WISHES)
    locale: Locale = "nb"


class AllocationOut(BaseModel):
    id: str
    wish_id: str
    application_id: str
    resource_id: str
    weekday: int
    start_time: str
    end_time: str
    series_id: str | None
    skipped_dates: list[date]
    publish_error: str | None


class WishOut(BaseModel):
    id: str
    resource_id: str
    weekday: int
    start_time: str
    end_time: str
    priority: int
    age_group: AgeGroup
    participants: int
    status: WishStatus
    decline_reason: str | None
    allocation: AllocationOut | None


class ApplicationOut(BaseModel):
    id: str
    round_id: str
    organisation: str
    org_number: str
    email: str
    phone: str
    created_at: datetime
    wishes: list[WishOut]


class ApplicationCreated(ApplicationOut):
    key: str = Field(description="the applicant's secret key (shown once; also in the receipt)")
    link: str


class ReservationClashOut(BaseModel):
    reservation_id: str
    start: datetime
    end: datetime


class OverviewWishOut(WishOut):
    application_id: str
    organisation: str
    clashes_with: list[str] = Field(description="ids of the wishes this one overlaps")
    reservation_clashes: list[ReservationClashOut]


class OverviewDayOut(BaseModel):
    weekday: int
    wishes: list[OverviewWishOut]
    allocations: list[AllocationOut]


class OverviewResourceOut(BaseModel):
    resource_id: str
    name: str
    weekdays: list[OverviewDayOut]


class OverviewOut(BaseModel):
    round: RoundOut
    resources: list[OverviewResourceOut]


class AllocationCreate(RequestModel):
    """The wish to allocate; the slot fields left out are the wish's own."""

    wish_id: Id
    resource_id: Id | None = None
    weekday: int | None = Field(default=None, ge=1, le=7)
    start_time: WallTime | None = None
    end_time: WallTime | None = None


class DeclineIn(RequestModel):
    reason: Text = Field(min_length=1, max_length=1000)


class PublishedOut(BaseModel):
    allocation_id: str
    wish_id: str
    series_id: str
    skipped_dates: list[date]


class PublishFailedOut(BaseModel):
    allocation_id: str
    wish_id: str
    error: str


class PublishOut(BaseModel):
    round: RoundOut
    published: list[PublishedOut]
    failed: list[PublishFailedOut]
    emails_queued: int


class HoursOut(BaseModel):
    wished_minutes: int
    allocated_minutes: int
    wished_hours: float
    allocated_hours: float


class OrganisationHoursOut(HoursOut):
    application_id: str
    organisation: str
    org_number: str


class AgeGroupHoursOut(HoursOut):
    age_group: AgeGroup


class StatisticsOut(BaseModel):
    round_id: str
    measured: Literal["planned", "occurrences"] = Field(
        description="`planned`: weekly minutes times the weeks of the period; `occurrences`: the "
        "published series' actual occurrences"
    )
    total: HoursOut
    organisations: list[OrganisationHoursOut]
    age_groups: list[AgeGroupHoursOut]
