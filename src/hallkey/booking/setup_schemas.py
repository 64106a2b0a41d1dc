"""Request and response bodies of the booking set-up API: tenants, tokens, venues, resources."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from hallkey.booking.schemas import (
    ClosedPeriodIn,
    ClosedPeriodOut,
    Credential,
    PriceIn,
    PriceOut,
    clean_name,
)
from hallkey.core.schemas import RequestModel

DOOR_ID_PATTERN = r"^[A-Za-z0-9_.:\-]{1,64}$"
OpeningHoursIn = dict[str, list[list[str]]]


def _name(value: str | None) -> str | None:
    return None if value is None else clean_name(value)


class TenantPut(RequestModel):
    """A tenant as the operator wants it; `hub_api_key` is needed only to create it."""

    name: str = Field(min_length=1, max_length=200)
    timezone: str = Field(default="Europe/Oslo", min_length=1, max_length=64)
    hub_url: str = Field(min_length=8, max_length=500, pattern=r"^https?://")
    hub_api_key: str | None = Field(default=None, min_length=8, max_length=200)
    hostnames: list[str] | None = Field(default=None, max_length=20)
    # The secret the hub signs its webhook messages with (`whsec_…`); kept when left out.
    hub_webhook_secret: str | None = Field(default=None, pattern=r"^whsec_[A-Za-z0-9+/=]{32,200}$")
    # The From of its emails (`Fjellby kommune <booking@fjellby.no>`); kept when left out, ""
    # clears it (then `HALLKEY_BOOKING_EMAIL_FROM`).
    email_from: str | None = Field(default=None, max_length=320)

    @field_validator("name")
    @classmethod
    def _clean(cls, value: str | None) -> str | None:
        return _name(value)


class TokenSummary(BaseModel):
    id: str
    name: str
    scopes: list[str]


class TenantOut(BaseModel):
    id: str
    slug: str
    name: str
    timezone: str
    hub_url: str
    hostnames: list[str]
    tokens: list[TokenSummary]
    has_hub_webhook_secret: bool = False
    email_from: str | None = None


class TokenIn(RequestModel):
    name: str = Field(min_length=1, max_length=200)
    scopes: list[str] = Field(min_length=1, max_length=10)

    @field_validator("name")
    @classmethod
    def _clean(cls, value: str | None) -> str | None:
        return _name(value)


class IssuedTokenOut(TokenSummary):
    """A new token: `token` is shown only in this answer."""

    token: str


class VenueIn(RequestModel):
    name: str = Field(min_length=1, max_length=200)
    address: str = Field(default="", max_length=500)
    timezone: str | None = Field(default=None, min_length=1, max_length=64)

    @field_validator("name")
    @classmethod
    def _clean(cls, value: str | None) -> str | None:
        return _name(value)


class VenuePatch(RequestModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    address: str | None = Field(default=None, max_length=500)
    timezone: str | None = Field(default=None, min_length=1, max_length=64)

    @field_validator("name")
    @classmethod
    def _clean(cls, value: str | None) -> str | None:
        return _name(value)


class ResourceRules(RequestModel):
    """A resource's rules; in a PATCH each one left out stays as it is."""

    credential: Credential | None = None
    # "unlock": the doors stand unlocked for each booking (a public event), no credential.
    access_operation: Literal["code", "unlock"] | None = None
    access_before_minutes: int | None = Field(default=None, ge=0, le=24 * 60)
    access_after_minutes: int | None = Field(default=None, ge=0, le=24 * 60)
    opening_hours: OpeningHoursIn | None = None
    approval_required: bool | None = None
    min_booking_minutes: int | None = Field(default=None, ge=1)
    max_booking_minutes: int | None = Field(default=None, ge=1)
    horizon_days: int | None = Field(default=None, ge=1)
    door_ids: list[str] | None = Field(default=None, min_length=1, max_length=20)
    # The price per price group; in a PATCH the list replaces all prices ([] removes them).
    prices: list[PriceIn] | None = Field(default=None, max_length=20)
    # In a PATCH, [] clears the closed periods; an explicit null clears slot_minutes,
    # max_open_bookings and free_cancellation_hours (no grid, no limit, always free).
    closed_periods: list[ClosedPeriodIn] | None = Field(default=None, max_length=200)
    public_holidays_closed: bool | None = None
    slot_minutes: int | None = Field(default=None, ge=1, le=1440)
    lead_minutes: int | None = Field(default=None, ge=0)
    buffer_minutes: int | None = Field(default=None, ge=0, le=24 * 60)
    max_open_bookings: int | None = Field(default=None, ge=1)
    free_cancellation_hours: int | None = Field(default=None, ge=0)

    @field_validator("door_ids")
    @classmethod
    def _doors(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        if any(not re.fullmatch(DOOR_ID_PATTERN, door) for door in value):
            raise ValueError("door ids are 1 to 64 letters, digits or _.:-")
        if len(set(value)) != len(value):
            raise ValueError("a door is named twice")
        return value


class ResourceIn(ResourceRules):
    venue_id: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=200)
    door_ids: list[str] = Field(min_length=1, max_length=20)
    # Opening hours: null (or left out) means open around the clock.
    active: bool = True

    @field_validator("name")
    @classmethod
    def _clean(cls, value: str | None) -> str | None:
        return _name(value)


class ResourcePatch(ResourceRules):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    active: bool | None = None
    # True clears the opening hours (open around the clock); null opening_hours alone keeps them.
    clear_opening_hours: bool = False

    @field_validator("name")
    @classmethod
    def _clean(cls, value: str | None) -> str | None:
        return _name(value)


class ResourceSetupOut(BaseModel):
    """A resource with every rule, as staff set it up."""

    id: str
    venue_id: str
    name: str
    active: bool
    door_ids: list[str]
    credential: str
    access_operation: str
    access_before_minutes: int
    access_after_minutes: int
    opening_hours: OpeningHoursIn | None
    approval_required: bool
    min_booking_minutes: int
    max_booking_minutes: int
    horizon_days: int
    prices: list[PriceOut] = Field(default_factory=list)
    closed_periods: list[ClosedPeriodOut]
    public_holidays_closed: bool
    slot_minutes: int | None
    lead_minutes: int
    buffer_minutes: int
    max_open_bookings: int | None
    free_cancellation_hours: int | None


NULLABLE_RULES = ("slot_minutes", "max_open_bookings", "free_cancellation_hours")
"""Rules whose null means "none"; a PATCH clears them with an explicit null."""


class VenueOut(BaseModel):
    id: str
    name: str
    address: str
    timezone: str
    resources: list[ResourceSetupOut]
