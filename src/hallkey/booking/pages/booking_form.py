"""The public booking form: its fields (the API's names), reading it into the API's request
body in the venue's zone, and what a refusal says next to each field, in the page's language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi import Request
from pydantic import ValidationError

from hallkey.booking import domain, offers
from hallkey.booking.pages import kit, week
from hallkey.booking.schemas import CustomerIn, ReservationCreate
from hallkey.core.errors import AppError, InvalidInput

FIELDS = ("start", "end", "name", "phone", "email", "organisation", "org_number")
REQUIRED = ("start", "end", "name", "phone", "email")

TIME_TAKEN = "The time is taken. Pick a free time in the week below."
# What a service's error says, as a guest should read it (the catalog translates these).
CODE_TEXTS = {
    "time_taken": TIME_TAKEN,
    "outside_opening_hours": "The time is outside the opening hours.",
    "too_late": "It is too late to book this time.",
    "off_grid": "Bookings start and end on the slot grid (see the rules).",
    "too_long": "Longer than the longest booking allowed.",
    "too_short": "Shorter than the shortest booking allowed.",
    "too_far_ahead": "Too far ahead to book yet.",
    "too_many_open_bookings": "You already hold as many bookings of this as allowed.",
    "closed_date": "Closed on that day.",
    "public_holiday": "Closed on public holidays.",
    "no_such_time": "This time does not exist on that day (the clocks go forward).",
    "bad_time": "Not a valid time.",
}
MESSAGE_TEXTS = {
    "end must be after start": "The end must be after the start.",
    "end must be in the future": "The end must be in the future.",
}
VALUE_TEXTS = {
    "phone": "Write a valid phone number, e.g. 912 34 567.",
    "email": "Write a valid e-mail address.",
    "org_number": "Not a valid organisation number (nine digits).",
}


@dataclass
class FormState:
    """What the booking form shows: the values written, the errors by field, its token."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    token: str = ""


def form_field(api_name: str) -> str:
    """Returns the form field of an API field name (`customer.phone` → `phone`)."""
    name = api_name.removeprefix("customer.")
    return name if name in FIELDS else ""


def error_text(request: Request, error: AppError) -> str:
    """Returns what a service's refusal says to a guest, in the page's language."""
    message = CODE_TEXTS.get(error.code) or MESSAGE_TEXTS.get(error.message)
    return kit.text(request, message) if message else error.message


def _validation_errors(request: Request, error: ValidationError) -> dict[str, str]:
    """Returns the messages of a customer's fields that did not pass, by form field."""
    found: dict[str, str] = {}
    for item in error.errors():
        name = form_field(".".join(str(part) for part in item["loc"] if part != "body"))
        if name in found:
            continue
        if item["type"] == "value_error" and name in VALUE_TEXTS:
            found[name] = kit.text(request, VALUE_TEXTS[name])
        else:
            message = kit.FIELD_MESSAGES.get(item["type"])
            found[name] = kit.text(request, message) if message else str(item["msg"])
    return found


def read_body(
    request: Request, offer: offers.Offer, values: dict[str, str], state: FormState
) -> ReservationCreate | None:
    """Returns the API's request body from the form, or None with `state.errors` filled in."""
    errors: dict[str, str] = {
        name: kit.text(request, "Required.") for name in REQUIRED if not values.get(name)
    }
    zone = domain.zone(offer.resource.timezone)
    times: dict[str, datetime] = {}
    for name in ("start", "end"):
        if name in errors:
            continue
        try:
            times[name] = week.read_local(values[name], zone, name)
        except InvalidInput as exc:
            errors[name] = error_text(request, exc)
    customer: dict[str, Any] = {
        name: values[name]
        for name in ("name", "phone", "email", "organisation", "org_number")
        if values.get(name)
    }
    try:
        person = CustomerIn.model_validate(customer)
    except ValidationError as exc:
        for name, message in _validation_errors(request, exc).items():
            errors.setdefault(name, message)
        person = None
    if errors or person is None:
        state.errors = errors
        return None
    lang = kit.lang_of(request)
    return ReservationCreate(
        resource_id=offer.resource.id,
        start=times["start"],
        end=times["end"],
        customer=person,
        locale="en" if lang == "en" else "nb",
    )
