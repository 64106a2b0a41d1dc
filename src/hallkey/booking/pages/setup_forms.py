"""Turning the set-up pages' urlencoded forms into the API's bodies, and back.

A form's fields carry the API's names (`slot_minutes`, `door_ids`, `opening_hours.mon`);
what a browser cannot send as JSON is written as text: a weekday's opening hours as
`08:00-16:00, 18:00-22:00`, door ids separated by commas, a closed period a line
`2026-12-24 2026-12-26 reason`, a price in kroner. Each parser here only reshapes text: the
rules are checked by the API's own model and service, so the page refuses what the API
refuses, with the same field names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from hallkey.booking.domain import WEEKDAYS
from hallkey.booking.schemas import PriceOut
from hallkey.booking.setup_schemas import ResourceSetupOut

INT_RULES = (
    "access_before_minutes",
    "access_after_minutes",
    "min_booking_minutes",
    "max_booking_minutes",
    "horizon_days",
    "lead_minutes",
    "buffer_minutes",
)
"""Whole-number rules every resource has."""
OPTIONAL_INT_RULES = ("slot_minutes", "max_open_bookings", "free_cancellation_hours")
"""Whole-number rules whose empty field means "none" (no grid, no limit, always free)."""
FLAGS = ("approval_required", "public_holidays_closed", "active")
CHOICES = ("credential", "access_operation")
NOT_A_NUMBER = "Not a whole number."
BAD_HOURS = "Write times as 08:00-16:00, several separated by commas."
BAD_PERIOD = "Write one period a line: first day, last day (YYYY-MM-DD) and a reason."
BAD_AMOUNT = "Write an amount in kroner, e.g. 250 or 99,50."
FORM_MESSAGES = (NOT_A_NUMBER, BAD_HOURS, BAD_PERIOD, BAD_AMOUNT)
"""The messages this module gives (the pages translate them)."""

_HOURS = re.compile(r"^\s*(\d{1,2}[:.]\d{2})\s*[-\u2013]\s*(\d{1,2}[:.]\d{2})\s*$")


def _clock(text: str) -> str:
    hours, minutes = re.split(r"[:.]", text)
    return f"{int(hours):02d}:{minutes}"


def parse_hours(text: str) -> list[list[str]] | None:
    """Returns a weekday's openings from `08:00-16:00, 18:00-22:00` (empty: closed that
    day); None when the text is not of that form."""
    openings: list[list[str]] = []
    for part in text.split(","):
        if not part.strip():
            continue
        match = _HOURS.match(part)
        if match is None:
            return None
        openings.append([_clock(match.group(1)), _clock(match.group(2))])
    return openings


def format_hours(openings: list[list[str]]) -> str:
    """Returns a weekday's openings as the form writes them."""
    return ", ".join(f"{opens}-{closes}" for opens, closes in openings)


def parse_periods(text: str) -> list[dict[str, Any]] | None:
    """Returns closed periods from lines `first last [reason]` (ISO dates; one date alone is
    one day); None when a line is not of that form (the dates are checked by the API's
    model)."""
    periods: list[dict[str, Any]] = []
    for line in text.splitlines():
        words = line.split(maxsplit=2)
        if not words:
            continue
        dated = [w for w in words[:2] if re.fullmatch(r"\d{4}-\d{2}-\d{2}", w)]
        if not dated:
            return None
        first, last = dated[0], dated[-1]
        rest = " ".join(words[len(dated) :]).strip()
        period: dict[str, Any] = {"from": first, "to": last}
        if rest:
            period["reason"] = rest
        periods.append(period)
    return periods


def format_periods(periods: list[Any]) -> str:
    """Returns closed periods as the form writes them, one a line."""
    lines = []
    for period in periods:
        data = period.model_dump(by_alias=True) if hasattr(period, "model_dump") else period
        line = f"{data['from']} {data['to']}"
        if data.get("reason"):
            line += f" {data['reason']}"
        lines.append(line)
    return "\n".join(lines)


def parse_doors(text: str) -> list[str]:
    """Returns door ids from a text separated by commas or spaces."""
    return [door for door in re.split(r"[,\s]+", text) if door]


def rule_body(
    form: Mapping[str, str], errors: dict[str, str], *, creating: bool = False
) -> dict[str, Any]:
    """Returns the body of `PATCH /api/v1/resources/{id}` (or, `creating`, of `POST
    /api/v1/resources` without its venue) that the rules form describes; notes in `errors` the
    fields it cannot read (the model checks the rest)."""
    body: dict[str, Any] = {"name": form.get("name", "").strip()}
    for name in INT_RULES + OPTIONAL_INT_RULES:
        raw = form.get(name, "").strip()
        if not raw:
            if name in OPTIONAL_INT_RULES and not creating:
                body[name] = None  # an explicit null clears it
            elif name not in OPTIONAL_INT_RULES:
                errors[name] = NOT_A_NUMBER
            continue
        try:
            body[name] = int(raw)
        except ValueError:
            errors[name] = NOT_A_NUMBER
    for name in FLAGS:
        body[name] = form.get(name) == "on"
    for name in CHOICES:
        if form.get(name):
            body[name] = form[name]
    body["door_ids"] = parse_doors(form.get("door_ids", ""))
    if form.get("clear_opening_hours") == "on":
        if not creating:
            body["clear_opening_hours"] = True
    else:
        hours: dict[str, list[list[str]]] = {}
        for day in WEEKDAYS:
            parsed = parse_hours(form.get(f"opening_hours.{day}", ""))
            if parsed is None:
                errors[f"opening_hours.{day}"] = BAD_HOURS
            else:
                hours[day] = parsed
        body["opening_hours"] = hours
    periods = parse_periods(form.get("closed_periods", ""))
    if periods is None:
        errors["closed_periods"] = BAD_PERIOD
    else:
        body["closed_periods"] = periods
    return body


def rule_values(resource: ResourceSetupOut) -> dict[str, str]:
    """Returns the rules form's fields filled with a resource's rules."""
    values: dict[str, str] = {"name": resource.name}
    for name in INT_RULES + OPTIONAL_INT_RULES:
        value = getattr(resource, name)
        values[name] = "" if value is None else str(value)
    for name in FLAGS:
        values[name] = "on" if getattr(resource, name) else ""
    values["credential"] = resource.credential
    values["access_operation"] = resource.access_operation
    values["door_ids"] = ", ".join(resource.door_ids)
    hours = resource.opening_hours
    values["clear_opening_hours"] = "on" if hours is None else ""
    for day in WEEKDAYS:
        values[f"opening_hours.{day}"] = format_hours(hours.get(day, [])) if hours else ""
    values["closed_periods"] = format_periods(resource.closed_periods)
    return values


def parse_amount(text: str) -> int | None:
    """Returns øre from kroner written `250`, `99,50` or `1 250.5`; None when not an amount."""
    cleaned = text.replace("\u00a0", "").replace(" ", "").replace(",", ".")
    try:
        kroner = Decimal(cleaned)
    except InvalidOperation:
        return None
    ore = kroner * 100
    if ore != ore.to_integral_value() or ore < 0:
        return None
    return int(ore)


def format_amount(ore: int) -> str:
    """Returns øre as kroner the way the price form writes them."""
    kroner, rest = divmod(ore, 100)
    return f"{kroner}" if rest == 0 else f"{kroner},{rest:02d}"


def price_body(
    form: Mapping[str, str], groups: list[str], errors: dict[str, str]
) -> list[dict[str, Any]]:
    """Returns the `prices` of a resource's PATCH from its price form: one per group whose
    amount is filled in (an empty amount: no price in that group)."""
    prices: list[dict[str, Any]] = []
    for group in groups:
        raw = form.get(f"price.{group}.amount", "").strip()
        if not raw:
            continue
        ore = parse_amount(raw)
        if ore is None:
            errors[f"price.{group}.amount"] = BAD_AMOUNT
            continue
        prices.append(
            {
                "group": group,
                "unit": form.get(f"price.{group}.unit", "hour"),
                "amount_ore": ore,
                "vat_rate": form.get(f"price.{group}.vat_rate", "").strip() or "0",
            }
        )
    return prices


def price_values(prices: list[PriceOut]) -> dict[str, str]:
    """Returns the price form's fields filled with a resource's prices."""
    values: dict[str, str] = {}
    for price in prices:
        values[f"price.{price.group}.amount"] = format_amount(price.amount_ore)
        values[f"price.{price.group}.unit"] = price.unit
        values[f"price.{price.group}.vat_rate"] = price.vat_rate
    return values
