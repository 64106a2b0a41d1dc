"""Request and response bodies of the approval desk, price groups, customers and the
customers' own sign-in (`/api/v1/reservations` list, `/price-groups`, `/customers`,
`/customer-session`, `/me`)."""

from __future__ import annotations

import unicodedata
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field

from hallkey.booking.schemas import (
    ContactOut,
    CustomerOut,
    DecisionOut,
    ReservationOut,
    ReservationStatus,
    clean_name,
    normalise_email,
    normalise_org_number,
    normalise_phone,
)
from hallkey.core.schemas import RequestModel, UtcDatetime

CustomerKind = Literal["person", "organisation"]
PRICE_GROUP_KEY = r"^[a-z0-9][a-z0-9_-]{0,39}$"

# Newlines and tabs are fine in a reason told to a customer; other control and format
# characters (bidirectional overrides, zero-width…) are not.
_REFUSED_IN_TEXT = frozenset({"Cc", "Cf", "Zl", "Zp", "Co", "Cs"})


def clean_text(value: str) -> str:
    """Returns a free text trimmed; raises ValueError when empty or holding control, format or
    invisible characters other than newline and tab."""
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    if any(c not in "\n\t" and unicodedata.category(c) in _REFUSED_IN_TEXT for c in value):
        raise ValueError("must not contain control, format or invisible characters")
    return value


Text = Annotated[str, AfterValidator(clean_text)]
Name = Annotated[str, AfterValidator(clean_name)]
Phone = Annotated[str, AfterValidator(normalise_phone)]
Email = Annotated[str, AfterValidator(normalise_email)]
OrgNumber = Annotated[str, AfterValidator(normalise_org_number)]


# --- decisions ---------------------------------------------------------------------------


class DenyIn(RequestModel):
    """A case officer's denial; the reason is kept and told to the customer."""

    reason: Text = Field(min_length=1, max_length=1000)


class ApproveIn(RequestModel):
    """An approval, with an optional note kept as the decision's reason."""

    reason: Text | None = Field(default=None, min_length=1, max_length=1000)


class CancelIn(RequestModel):
    """A cancellation takes no fields (an empty object, or no body at all)."""


# --- the reservation list ----------------------------------------------------------------


class ReservationSummaryOut(BaseModel):
    """One reservation in the staff's list (its access state, not its credential)."""

    id: str
    ref: str
    status: ReservationStatus
    resource_id: str
    venue_id: str
    start: UtcDatetime
    end: UtcDatetime
    customer: CustomerOut
    access_state: str
    decision: DecisionOut | None
    created_at: UtcDatetime
    # The series it is an occurrence of (its access state is then the series').
    series_id: str | None = None


class ReservationPageOut(BaseModel):
    """A page of reservations by start time; `next_cursor` fetches the next (null: no more)."""

    items: list[ReservationSummaryOut]
    next_cursor: str | None


# --- price groups ------------------------------------------------------------------------


class PriceGroupIn(RequestModel):
    key: str = Field(pattern=PRICE_GROUP_KEY, description="stable key prices refer to")
    name: Name = Field(min_length=1, max_length=200)
    requires_approval: bool = False


class PriceGroupPatch(RequestModel):
    name: Name | None = Field(default=None, min_length=1, max_length=200)
    requires_approval: bool | None = None


class PriceGroupOut(BaseModel):
    id: str
    key: str
    name: str
    requires_approval: bool


# --- customers ---------------------------------------------------------------------------


class ContactIn(RequestModel):
    """A contact person of an organisation."""

    name: Name = Field(min_length=1, max_length=200)
    phone: Phone | None = Field(default=None, min_length=1, max_length=40)
    email: Email | None = Field(default=None, min_length=3, max_length=320)


class _CustomerFields(RequestModel):
    name: Name | None = Field(default=None, min_length=1, max_length=200)
    phone: Phone | None = Field(default=None, min_length=1, max_length=40)
    organisation: Name | None = Field(default=None, min_length=1, max_length=200)
    org_number: OrgNumber | None = Field(default=None, min_length=1, max_length=32)
    price_group: str | None = Field(default=None, pattern=PRICE_GROUP_KEY)
    contacts: list[ContactIn] | None = Field(
        default=None, max_length=20, description="an organisation's contact persons (replaced)"
    )


class CustomerCreate(_CustomerFields):
    """A customer registered by staff: a person, or an organisation with its org number."""

    kind: CustomerKind
    name: Name = Field(min_length=1, max_length=200)
    email: Email = Field(min_length=3, max_length=320)


class CustomerPatch(_CustomerFields):
    """Changes to a customer; omitted fields stay (the e-mail, their sign-in, stays too)."""

    kind: CustomerKind | None = None


class CustomerRecordOut(BaseModel):
    """A customer as staff see it."""

    id: str
    kind: CustomerKind
    name: str | None
    phone: str | None
    email: str | None
    organisation: str | None
    org_number: str | None
    price_group: str | None
    contacts: list[ContactOut]
    created_at: UtcDatetime
    updated_at: UtcDatetime
    erased_at: UtcDatetime | None


class CustomerPageOut(BaseModel):
    items: list[CustomerRecordOut]
    next_cursor: str | None


# --- customers' own sign-in --------------------------------------------------------------


class SignInLinkIn(RequestModel):
    email: Email = Field(min_length=3, max_length=320)
    tenant: str | None = Field(default=None, min_length=1, max_length=64)


class SignInLinkOut(BaseModel):
    """Always the same answer, whether or not the e-mail belongs to a customer."""

    status: Literal["sent_if_known"] = "sent_if_known"
    message: str = "If the address belongs to a customer, a sign-in link is on its way."


class SignInIn(RequestModel):
    token: str = Field(min_length=16, max_length=128)


class MyReservationsOut(BaseModel):
    """A page of the signed-in customer's reservations, each with its access. A booking made
    with their e-mail by someone who gave another name or phone shows neither that contact
    nor its credential (listed in `withheld`)."""

    items: list[ReservationOut]
    withheld: list[str] = Field(description="ids of the items whose contact and key are withheld")
    next_cursor: str | None


class SignedInOut(BaseModel):
    customer_id: str
    name: str | None
    email: str | None
    expires_at: UtcDatetime
