"""Request and response bodies of the hub API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import phonenumbers
from pydantic import AfterValidator, BaseModel, EmailStr, Field

from hallkey.core.schemas import Ref, RequestModel, UtcDatetime
from hallkey.hub.domain import MAX_REVISION

DoorId = Annotated[str, Field(min_length=1, max_length=64)]
Channel = Literal["sms", "email"]
Revision = Annotated[int, Field(ge=0, lt=MAX_REVISION, strict=True)]
"""The client's version of a grant: a request with a lower one than the hub has seen is
refused (409 `stale_revision`); the booking sends its reservation's version."""
Locale = Literal["nb", "en"]


def _e164(value: str) -> str:
    try:
        number = phonenumbers.parse(value, "NO")
    except phonenumbers.NumberParseException:
        raise ValueError("not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


Phone = Annotated[str, Field(max_length=32), AfterValidator(_e164)]


class _Request(RequestModel):
    """A request body: unknown fields are refused, never silently dropped; types are strict."""


class WindowIn(_Request):
    valid_from: UtcDatetime
    valid_to: UtcDatetime


class RecipientIn(RequestModel):
    """Where to deliver the credential; nothing else about the person (no name)."""

    phone: Phone | None = None
    email: EmailStr | None = None


class GrantAccessIn(_Request):
    ref: Ref
    operation: Literal["code", "unlock"] = "code"
    credential: Literal["pin", "mobile_key", "url_key", "sms"] = "pin"
    doors: Annotated[list[DoorId], Field(min_length=1, max_length=50)]
    valid_from: UtcDatetime | None = None
    valid_to: UtcDatetime | None = None
    windows: Annotated[list[WindowIn], Field(max_length=500)] | None = None
    recipient: RecipientIn = Field(default_factory=RecipientIn)
    deliver_via: Annotated[list[Channel], Field(max_length=2)] = Field(default_factory=list)
    locale: Locale = "nb"
    revision: Revision | None = None


class UpdateAccessIn(_Request):
    ref: Ref
    valid_from: UtcDatetime | None = None
    valid_to: UtcDatetime | None = None
    windows: Annotated[list[WindowIn], Field(min_length=1, max_length=500)] | None = None
    doors: Annotated[list[DoorId], Field(min_length=1, max_length=50)] | None = None
    recipient: RecipientIn | None = None
    revision: Revision | None = None


class RefIn(_Request):
    ref: Ref


class RevokeAccessIn(_Request):
    ref: Ref
    revision: Revision | None = None


class PulseIn(_Request):
    ref: Ref
    door: DoorId
    seconds: Annotated[int, Field(ge=1, le=60)] = 5


class ResendIn(_Request):
    ref: Ref
    via: Annotated[list[Channel], Field(min_length=1, max_length=2)] | None = None


class WindowOut(BaseModel):
    valid_from: datetime
    valid_to: datetime


class DoorErrorOut(BaseModel):
    code: str
    message: str


class GrantDoorOut(BaseModel):
    id: str
    state: Literal["pending", "programmed", "failed", "revoked"]
    errors: list[DoorErrorOut]


class DeliveryOut(BaseModel):
    id: str
    channel: Channel
    template: str
    state: Literal["queued", "sent", "failed"] = Field(
        description="queued until sent; failed for good with `error`"
    )
    error: str | None = Field(
        default=None,
        description="why it failed (or why the last try failed, while queued): the provider's "
        "answer as a short code (`smtp_550`, `twilio_21211`, `gateway_400`, `timeout`) or the "
        "hub's (`grant_revoked`, `no_address`, `superseded`, `window_moved`)",
    )
    attempts: int = 0
    window_at: datetime | None = Field(default=None, description="a reminder's window start")
    sent_at: datetime | None = None


class GrantOut(BaseModel):
    ref: str
    state: Literal["active", "revoked"]
    operation: str
    credential: str
    code: str | None = None
    code_formatted: str | None = None
    url: str | None = None
    mobile_key: str | None = None
    valid_from: datetime
    valid_to: datetime
    windows: list[WindowOut]
    doors: list[GrantDoorOut]
    deliveries: list[DeliveryOut]


class PulseOut(BaseModel):
    ref: str
    door: str
    unlocked_until: datetime


class EventOut(BaseModel):
    id: str
    ref: str | None
    door: str
    door_name: str
    kind: str
    reason: str | None
    at: datetime


class DoorOut(BaseModel):
    id: str
    name: str
    site: str
    site_name: str
    connector: str
    capabilities: list[str]
    online: bool
    battery: int | None
    last_seen: datetime | None


class ControllerEventIn(_Request):
    """One door event as a controller reports it; unknown fields are refused."""

    id: Annotated[str, Field(min_length=1, max_length=64)]
    door: DoorId
    ref: Ref | None = None
    kind: Annotated[str, Field(min_length=1, max_length=32)]
    reason: Annotated[str, Field(max_length=32)] | None = None
    at: UtcDatetime


MAX_EVENTS = 500
"""Most events in one push; a controller with more sends several."""


class ControllerEventsIn(_Request):
    """A push of door events; each is validated on its own (see `ControllerEventIn`), so one
    bad event is listed in `rejected` instead of refusing the others."""

    events: Annotated[
        list[Any],
        Field(
            max_length=MAX_EVENTS,
            description="ControllerEventIn objects; an empty list is a heartbeat",
        ),
    ]


class JwksOut(BaseModel):
    """A JSON Web Key Set (RFC 7517): the public keys that verify mobile keys."""

    keys: list[dict[str, Any]]
