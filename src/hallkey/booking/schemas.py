"""Request and response bodies of the booking API."""

from __future__ import annotations

import unicodedata
from datetime import date
from typing import Annotated, Any, Literal

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
)
from stdnum.no import orgnr

from hallkey.booking.pricing import (
    CURRENCY,
    GROUP_PATTERN,
    MAX_AMOUNT_ORE,
    PriceUnit,
    format_vat_rate,
    parse_vat_rate,
)
from hallkey.booking.usage_schemas import Usage
from hallkey.core.schemas import Ref, RequestModel, UtcDatetime

Credential = Literal["pin", "mobile_key", "url_key", "sms"]
ReservationStatus = Literal["requested", "confirmed", "denied", "cancelled"]
AccessState = Literal["pending", "granted", "failed", "revoked"]


def normalise_phone(value: str, region: str = "NO") -> str:
    """Returns the phone number in E.164; raises ValueError (without the value) if invalid."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        raise ValueError("phone is not a valid phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError("phone is not a valid phone number")
    # E.164 has no extension: keeping the number without it would send the key elsewhere.
    if number.extension:
        raise ValueError("phone must be a number without an extension")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_org_number(value: str) -> str:
    """Returns a Norwegian organisation number as its nine digits; raises ValueError (without
    the value) when it is not one (wrong length, letters, bad check digit)."""
    if not orgnr.is_valid(value):
        raise ValueError("org_number is not a valid Norwegian organisation number")
    return str(orgnr.compact(value))


def normalise_email(value: str) -> str:
    """Returns the normalised e-mail address; raises ValueError (without the value) if invalid."""
    try:
        # Lower-cased whole: one person is one customer whatever case they type.
        return validate_email(value, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise ValueError("email is not a valid e-mail address") from None


# Control characters, format characters (bidirectional overrides and isolates, zero-width
# characters, the byte order mark…), line and paragraph separators, private use, surrogates:
# invisible or reordering in a page, where they can make one name pass for another.
_REFUSED_IN_NAMES = frozenset({"Cc", "Cf", "Zl", "Zp", "Co", "Cs"})


def clean_name(value: str) -> str:
    """Returns a name with surrounding spaces trimmed; raises ValueError (without the value)
    when it is empty or holds control, format or invisible characters."""
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    if any(unicodedata.category(c) in _REFUSED_IN_NAMES for c in value):
        raise ValueError("must not contain control, format or invisible characters")
    return value


class _Strict(RequestModel):
    """A request body: unknown fields refused, types strict."""


class CustomerIn(_Strict):
    name: str = Field(min_length=1, max_length=200)
    phone: str = Field(min_length=1, max_length=40)
    email: str = Field(min_length=3, max_length=320)
    organisation: str | None = Field(default=None, max_length=200)
    org_number: str | None = Field(default=None, max_length=32)

    @field_validator("name", "organisation")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return None if value is None else clean_name(value)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        return normalise_phone(value)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return normalise_email(value)

    @field_validator("org_number")
    @classmethod
    def _org_number(cls, value: str | None) -> str | None:
        return None if value is None else normalise_org_number(value)


class AccessIn(_Strict):
    credential: Credential | None = None


PriceGroup = Annotated[str, Field(pattern=GROUP_PATTERN, description="a price group's key")]
Locale = Literal["nb", "en"]


class ReservationCreate(_Strict):
    resource_id: str = Field(min_length=1, max_length=40)
    start: UtcDatetime
    end: UtcDatetime
    customer: CustomerIn
    access: AccessIn | None = None
    # The customer's price group, as the caller (a portal, staff) knows it; left out: the
    # default group (`hallkey.booking.pricing.DEFAULT_GROUP`).
    price_group: PriceGroup | None = None
    # The language of the emails the customer gets about this booking.
    locale: Locale = "nb"


class PriceIn(_Strict):
    """A resource's price for one price group: net øre per hour or per booking, VAT in
    percent as a decimal string ("25", "12", "0")."""

    group: PriceGroup
    unit: PriceUnit
    amount_ore: int = Field(ge=0, le=MAX_AMOUNT_ORE)
    vat_rate: str = Field(min_length=1, max_length=6)

    @field_validator("vat_rate")
    @classmethod
    def _rate(cls, value: str) -> str:
        return format_vat_rate(parse_vat_rate(value))


class PriceOut(BaseModel):
    group: str
    unit: PriceUnit
    amount_ore: int
    vat_rate: str


class QuoteOut(BaseModel):
    """What a booking costs in one price group: net + vat = gross, in øre."""

    group: str
    unit: PriceUnit
    net_ore: int
    vat_ore: int
    gross_ore: int
    currency: str = CURRENCY
    vat_rate: str


class ReservationMove(_Strict):
    start: UtcDatetime | None = None
    end: UtcDatetime | None = None


class CustomerOut(BaseModel):
    """Who made a reservation (as given with it) and the customer it belongs to (`id`); all
    but `id` are null once the customer is erased."""

    id: str
    name: str | None
    phone: str | None
    email: str | None


class CustomerReservationOut(BaseModel):
    """One reservation in a customer's export. `contact_withheld` marks a booking made with
    the customer's e-mail by someone who did not prove to be them and gave another name or
    phone: it is listed, but the booker's name and phone are not the customer's to see."""

    id: str
    ref: str
    contact_name: str | None
    contact_phone: str | None
    contact_email: str | None
    contact_withheld: bool
    status: ReservationStatus
    resource_id: str
    start: UtcDatetime
    end: UtcDatetime


class ContactOut(BaseModel):
    id: str
    name: str
    phone: str | None
    email: str | None


class CustomerExportOut(BaseModel):
    """Everything the booking system stores about a customer (the export)."""

    id: str
    name: str | None
    phone: str | None
    email: str | None
    organisation: str | None
    org_number: str | None
    kind: str
    price_group: str | None
    contacts: list[ContactOut]
    created_at: UtcDatetime
    erased_at: UtcDatetime | None
    reservations: list[CustomerReservationOut]


class AccessOut(BaseModel):
    """The access as the customer sees it; credential fields appear only when known."""

    state: AccessState
    credential: str
    code: str | None = None
    code_formatted: str | None = None
    url: str | None = None
    mobile_key: str | None = None
    error: str | None = None

    @model_serializer(mode="wrap")
    def _drop_unknown(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        return {key: value for key, value in data.items() if value is not None}


class EventOut(BaseModel):
    at: UtcDatetime
    door: str
    door_name: str
    kind: str
    reason: str | None


class DecisionOut(BaseModel):
    """A case officer's decision on a request: who (`token:<id>` or `staff:<id>`), when, and
    the reason given."""

    by: str
    at: UtcDatetime
    reason: str | None


class ReservationOut(BaseModel):
    id: str
    ref: str
    status: ReservationStatus
    resource_id: str
    start: UtcDatetime
    end: UtcDatetime
    version: int
    # Cancelled later than the resource's free cancellation allows (false unless cancelled).
    cancellation_charged: bool = False
    customer: CustomerOut
    access: AccessOut
    events: list[EventOut]
    # What it costs (null for a resource without prices).
    price: QuoteOut | None = None
    locale: Locale = "nb"
    decision: DecisionOut | None = None
    # Was it used: from its door events (`hallkey.booking.usage`).
    usage: Usage = "unknown"


class ClosedPeriodOut(BaseModel):
    """Local dates `from` to `to` (inclusive) on which a resource takes no booking."""

    model_config = ConfigDict(populate_by_name=True)

    from_: date = Field(alias="from")
    to: date
    reason: str | None = None


class ClosedPeriodIn(RequestModel):
    """Local dates `from` to `to` (inclusive, ISO `YYYY-MM-DD`) on which a resource takes no
    booking."""

    # Not strict: a JSON body carries a date as its ISO text.
    from_: date = Field(alias="from", strict=False)
    to: date = Field(strict=False)
    reason: str | None = Field(default=None, min_length=1, max_length=200)


class ResourceOut(BaseModel):
    id: str
    name: str
    venue: str
    timezone: str
    credential: str
    access_before_minutes: int
    access_after_minutes: int
    min_booking_minutes: int
    max_booking_minutes: int
    horizon_days: int
    # Net øre per hour or booking for each price group (empty: free).
    prices: list[PriceOut] = Field(default_factory=list)
    slot_minutes: int | None
    lead_minutes: int
    buffer_minutes: int
    closed_periods: list[ClosedPeriodOut]
    public_holidays_closed: bool
    max_open_bookings: int | None
    free_cancellation_hours: int | None


class FrameOut(BaseModel):
    start: UtcDatetime
    end: UtcDatetime


class AvailabilityOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    resource_id: str
    from_: UtcDatetime = Field(alias="from")
    to: UtcDatetime
    busy: list[FrameOut]
    free: list[FrameOut]


class AccessEventIn(_Strict):
    """One door event as the hub pushes it; validated on its own."""

    id: str = Field(min_length=1, max_length=64)
    ref: Ref | None = None
    door: str = Field(min_length=1, max_length=64)
    door_name: str = Field(default="", max_length=200)
    kind: str = Field(min_length=1, max_length=40)
    reason: str | None = Field(default=None, max_length=64)
    at: UtcDatetime


MAX_EVENTS_PER_BATCH = 500


class AccessEventsIn(_Strict):
    """A batch of door events; each item is checked on its own (see `AccessEventIn`)."""

    events: list[Any] = Field(
        max_length=MAX_EVENTS_PER_BATCH,
        description="door events shaped as AccessEventIn; bad ones are listed in `rejected`",
    )


class WebhookAck(BaseModel):
    """What became of a hub webhook message: `taken`, `duplicate` (its id was seen) or
    `ignored` (a type this version does not handle)."""

    status: Literal["taken", "duplicate", "ignored"]
