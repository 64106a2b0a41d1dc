"""The set-up file: what one municipality looks like, read from TOML and checked whole.

Things are matched by what the file names them: the tenant by `slug`, the hub client, sites,
controllers, venues and resources by `name`, doors by `id`, staff by `username`. Renaming one
in the file therefore makes a new one (and deactivates a renamed resource's old self).
"""

from __future__ import annotations

import re
import tomllib
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

DOOR_ID = r"^[A-Za-z0-9_.:\-]{1,64}$"
SLUG = r"^[a-z0-9][a-z0-9-]{0,63}$"
PRICE_GROUP_KEY = r"^[a-z0-9][a-z0-9_-]{0,39}$"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HHMM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$")
DAY_MINUTES = 24 * 60


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("not a known IANA time zone") from None
    return name


TimeZone = Annotated[str, AfterValidator(_zone)]
Minutes = Annotated[int, Field(ge=0, le=DAY_MINUTES)]


class SetupFileError(Exception):
    """The file cannot be read or breaks a rule; `problems` says where and why, one a line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class TenantSpec(_Model):
    slug: str = Field(pattern=SLUG)
    name: str = Field(min_length=1, max_length=200)
    timezone: TimeZone = "Europe/Oslo"
    hostnames: list[str] = Field(default_factory=list, max_length=20)


class TokenSpec(_Model):
    """A booking API token of the tenant, made once (by name); shown when it is made."""

    name: str = Field(min_length=1, max_length=200)
    scopes: list[str] = Field(min_length=1)


class StaffSpec(_Model):
    """A staff member of the tenant, matched by username (case does not matter).

    The password comes from the environment variable `password_env` when the member is made,
    or is generated and written to `--keys-out`; an existing member's password is never
    changed by a file (nor known to it).
    """

    username: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._@+-]*$")
    role: Literal["admin", "case_officer", "caretaker"]
    # A caretaker's venues, by name; the other roles see every venue.
    venues: list[str] = Field(default_factory=list, max_length=200)
    password_env: str | None = Field(default=None, pattern=r"^[A-Z_][A-Z0-9_]{0,127}$")
    disabled: bool = False

    @model_validator(mode="after")
    def _venues_for_caretakers(self) -> StaffSpec:
        if self.role == "caretaker" and not self.venues:
            raise ValueError("a caretaker names the venues it looks after")
        if self.role != "caretaker" and self.venues:
            raise ValueError(f"a {self.role} sees every venue: name no venues")
        return self


class HubSpec(_Model):
    client: str = Field(min_length=1, max_length=200)


class DoorSpec(_Model):
    id: str = Field(pattern=DOOR_ID)
    name: str = Field(min_length=1, max_length=200)
    # Its id in the lock system behind the site's connector (default: `id`).
    remote_id: str | None = Field(default=None, pattern=DOOR_ID)


class SiteSpec(_Model):
    name: str = Field(min_length=1, max_length=200)
    connector: str = Field(min_length=1, max_length=32)
    # connector = "controller": the hallkey door controller of this name (default: the site's
    # name), made with the same doors under their remote ids, each told its hub id.
    controller: str | None = Field(default=None, min_length=1, max_length=200)
    # Other connectors: their site configuration (see the README), applied when the site is made.
    config: dict[str, str] = Field(default_factory=dict)
    timezone: TimeZone = "Europe/Oslo"
    pin_length: int = Field(default=6, ge=4, le=8)
    doors: list[DoorSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _controller_only_for_controllers(self) -> SiteSpec:
        if self.connector == "controller" and self.config:
            raise ValueError("a controller site takes no config: the controller is made for it")
        if self.connector != "controller" and self.controller is not None:
            raise ValueError("only a site with connector = 'controller' names a controller")
        return self

    @property
    def controller_name(self) -> str | None:
        """Returns the name of the site's hallkey controller, or None for other connectors."""
        return (self.controller or self.name) if self.connector == "controller" else None


class PriceSpec(_Model):
    """A resource's price for one price group: net øre per hour or per booking, with VAT in
    percent ("25", 12.5 written as a string, 0)."""

    group: str = Field(pattern=r"^[a-z0-9_-]{1,40}$")
    unit: Literal["hour", "fixed"]
    amount_ore: int = Field(ge=0, le=100_000_000)
    vat_rate: str | int

    @field_validator("vat_rate")
    @classmethod
    def _rate(cls, value: str | int) -> str:
        text = str(value)
        if not re.fullmatch(r"(0|[1-9][0-9]?|100)(\.[0-9]{1,2})?", text) or Decimal(text) > 100:
            raise ValueError("vat_rate is a percent from 0 to 100 with at most two decimals")
        # As the booking API shows it ("12.50" is "12.5"), so a second apply finds no change.
        return f"{Decimal(text).normalize():f}"


class ClosedPeriodSpec(_Model):
    """Local dates `from` to `to` (inclusive, TOML dates) on which the resource is closed."""

    from_: date = Field(alias="from", strict=False)
    to: date = Field(strict=False)
    reason: str | None = Field(default=None, min_length=1, max_length=200)

    @model_validator(mode="after")
    def _ordered(self) -> ClosedPeriodSpec:
        if self.to < self.from_:
            raise ValueError("a closed period ends before it starts")
        return self


class ResourceSpec(_Model):
    name: str = Field(min_length=1, max_length=200)
    doors: list[str] = Field(min_length=1, max_length=20)
    credential: Literal["pin", "mobile_key", "url_key", "sms"] = "pin"
    # "unlock": the doors stand unlocked for each booking (a public event) instead of a key.
    access_operation: Literal["code", "unlock"] = "code"
    access_before_minutes: Minutes = 15
    access_after_minutes: Minutes = 15
    # Left out: open around the clock.
    opening_hours: dict[str, list[list[str]]] | None = None
    approval_required: bool = False
    min_booking_minutes: int = Field(default=15, ge=1)
    max_booking_minutes: int = Field(default=DAY_MINUTES, ge=1, le=366 * DAY_MINUTES)
    horizon_days: int = Field(default=365, ge=1, le=3660)
    # Left out: the resource is free (its bookings carry no price).
    prices: list[PriceSpec] = Field(default_factory=list, max_length=20)

    @field_validator("prices")
    @classmethod
    def _prices(cls, prices: list[PriceSpec]) -> list[PriceSpec]:
        groups = [price.group for price in prices]
        if len(set(groups)) != len(groups):
            raise ValueError("a price group is named twice")
        # In the order the booking API lists them, so a second apply finds no change.
        return sorted(prices, key=lambda price: price.group)

    # The other booking rules; left out: none (see the README's "Booking rules").
    closed_periods: list[ClosedPeriodSpec] = Field(default_factory=list, max_length=200)
    public_holidays_closed: bool = False
    slot_minutes: int | None = Field(default=None, ge=1, le=DAY_MINUTES)
    lead_minutes: int = Field(default=0, ge=0, le=90 * DAY_MINUTES)
    buffer_minutes: Minutes = 0
    max_open_bookings: int | None = Field(default=None, ge=1, le=10_000)
    free_cancellation_hours: int | None = Field(default=None, ge=0, le=365 * 24)

    @field_validator("closed_periods")
    @classmethod
    def _sorted(cls, periods: list[ClosedPeriodSpec]) -> list[ClosedPeriodSpec]:
        # In the order the API keeps them, so that a second apply changes nothing.
        return sorted(periods, key=lambda p: (p.from_, p.to))

    @field_validator("opening_hours")
    @classmethod
    def _hours(cls, hours: dict[str, list[list[str]]] | None) -> dict[str, list[list[str]]] | None:
        for day, intervals in (hours or {}).items():
            if day not in WEEKDAYS:
                raise ValueError(f"opening hours are keyed by {', '.join(WEEKDAYS)}")
            for interval in intervals:
                if len(interval) != 2 or not all(HHMM.match(t) for t in interval):
                    raise ValueError('each opening is ["HH:MM", "HH:MM"]')
                if interval[1] <= interval[0]:
                    raise ValueError("an opening must close after it opens")
        return hours

    @model_validator(mode="after")
    def _shortest_not_longest(self) -> ResourceSpec:
        if self.min_booking_minutes > self.max_booking_minutes:
            raise ValueError("min_booking_minutes is longer than max_booking_minutes")
        return self


class PriceGroupSpec(_Model):
    """A price group of the tenant, matched by its key (which prices refer to)."""

    key: str = Field(pattern=PRICE_GROUP_KEY)
    name: str = Field(min_length=1, max_length=200)
    requires_approval: bool = False


class VenueSpec(_Model):
    name: str = Field(min_length=1, max_length=200)
    address: str = Field(default="", max_length=500)
    timezone: TimeZone | None = None
    resources: list[ResourceSpec] = Field(default_factory=list)


class SetupFile(_Model):
    """One municipality across the three contexts."""

    tenant: TenantSpec
    hub: HubSpec
    sites: list[SiteSpec] = Field(default_factory=list)
    venues: list[VenueSpec] = Field(default_factory=list)
    tokens: list[TokenSpec] = Field(default_factory=list)
    staff: list[StaffSpec] = Field(default_factory=list)
    price_groups: list[PriceGroupSpec] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _names_and_doors(self) -> SetupFile:
        _unique("price groups", [group.key for group in self.price_groups])
        _unique("staff", [member.username.lower() for member in self.staff])
        venue_names = {venue.name for venue in self.venues}
        for member in self.staff:
            unknown_venues = sorted(set(member.venues) - venue_names)
            if unknown_venues:
                raise ValueError(
                    f"staff {member.username!r} names venues the file has not: "
                    + ", ".join(unknown_venues)
                )
        _unique("sites", [site.name for site in self.sites])
        _unique("venues", [venue.name for venue in self.venues])
        _unique("tokens", [token.name for token in self.tokens])
        _unique("resources", [r.name for venue in self.venues for r in venue.resources])
        _unique("doors", [door.id for site in self.sites for door in site.doors])
        controllers = [site.controller_name for site in self.sites if site.controller_name]
        _unique("controllers", controllers)
        known = {door.id for site in self.sites for door in site.doors}
        for venue in self.venues:
            for resource in venue.resources:
                unknown = sorted(set(resource.doors) - known)
                if unknown:
                    raise ValueError(
                        f"resource {resource.name!r} names doors no site has: {', '.join(unknown)}"
                    )
        return self


def _unique(what: str, names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"two {what} are named {name!r}")
        seen.add(name)


def parse_setup(text: str) -> SetupFile:
    """Returns the set-up a TOML text describes; raises SetupFileError naming each problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SetupFileError([f"not valid TOML: {exc}"]) from None
    try:
        return SetupFile.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"]) or "file"
            problems.append(f"{where}: {error['msg']}")
        raise SetupFileError(problems) from None


def load_setup_file(path: Path) -> SetupFile:
    """Returns the set-up of a TOML file; raises SetupFileError."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SetupFileError([f"{path}: {exc.strerror}"]) from None
    return parse_setup(text)
