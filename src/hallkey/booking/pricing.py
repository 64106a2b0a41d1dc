"""Prices as pure arithmetic: what a booking of a frame costs in one price group.

Money is whole øre (`int`), never a float. A price is the net amount (without VAT) per hour
or per booking (`fixed`), with a VAT rate in basis points (2500 = 25 %). An hourly price is
charged pro rata by the minute. Two roundings, each half-up to a whole øre:

- net = amount * seconds / 3600 (a booking is whole minutes, so this is by the minute);
- vat = net * rate / 10 000;

and gross = net + vat, so the three always add up exactly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Literal

PriceUnit = Literal["hour", "fixed"]
UNITS: tuple[PriceUnit, ...] = ("hour", "fixed")
CURRENCY = "NOK"
GROUP_PATTERN = r"^[a-z0-9_-]{1,40}$"
DEFAULT_GROUP = "private"
"""The price group of a booking that names none (a private person)."""
MAX_AMOUNT_ORE = 100_000_000  # one million kroner per unit: a bound, not a policy
MAX_VAT_BASIS_POINTS = 10_000
_VAT_RATE = re.compile(r"^(0|[1-9][0-9]?|100)(\.[0-9]{1,2})?$")


@dataclass(frozen=True)
class Price:
    """One price of a resource for one price group."""

    group: str
    unit: PriceUnit
    amount_ore: int
    vat_basis_points: int


@dataclass(frozen=True)
class Quote:
    """What a booking costs: net + vat = gross, all in øre."""

    group: str
    unit: PriceUnit
    net_ore: int
    vat_ore: int
    gross_ore: int
    vat_basis_points: int


def round_half_up(value: Fraction) -> int:
    """Returns the whole number nearest to a non-negative `value`, halves rounded up."""
    if value < 0:
        raise ValueError("money amounts are never negative")
    return int(value + Fraction(1, 2))


def net_ore(price: Price, duration: timedelta) -> int:
    """Returns the net amount of a booking of this length (hourly prices pro rata)."""
    if price.unit == "fixed":
        return price.amount_ore
    seconds = Fraction(duration.days * 86_400 + duration.seconds)
    return round_half_up(price.amount_ore * seconds / 3600)


def vat_ore(net: int, vat_basis_points: int) -> int:
    """Returns the VAT on a net amount."""
    return round_half_up(Fraction(net * vat_basis_points, 10_000))


def quote(price: Price, duration: timedelta) -> Quote:
    """Returns what a booking of this length costs at this price."""
    if duration <= timedelta(0):
        raise ValueError("a booking lasts a positive time")
    net = net_ore(price, duration)
    vat = vat_ore(net, price.vat_basis_points)
    return Quote(
        group=price.group,
        unit=price.unit,
        net_ore=net,
        vat_ore=vat,
        gross_ore=net + vat,
        vat_basis_points=price.vat_basis_points,
    )


def parse_vat_rate(text: str) -> int:
    """Returns a VAT rate given in percent as a decimal string ("25", "12.5", "0") in basis
    points; raises ValueError for anything else (floats never: "0.1" means 0.1 %)."""
    if not _VAT_RATE.fullmatch(text):
        raise ValueError("vat_rate is a percent from 0 to 100 with at most two decimals")
    try:
        basis_points = Decimal(text) * 100
    except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
        raise ValueError("vat_rate is not a number") from None
    if basis_points > MAX_VAT_BASIS_POINTS:
        raise ValueError("vat_rate is at most 100")
    return int(basis_points)


def format_vat_rate(basis_points: int) -> str:
    """Returns a rate in basis points as the percent string the API shows ("25", "12.5")."""
    whole, rest = divmod(basis_points, 100)
    if rest == 0:
        return str(whole)
    return f"{whole}.{rest:02d}".rstrip("0")


def format_kroner(ore: int, *, locale: str = "nb") -> str:
    """Returns an amount of øre as kroner for people ("1 234,50 kr" / "NOK 1,234.50")."""
    kroner, rest = divmod(ore, 100)
    if locale == "en":
        return f"NOK {kroner:,}.{rest:02d}"
    grouped = f"{kroner:,}".replace(",", "\u00a0")
    return f"{grouped},{rest:02d}\u00a0kr"
