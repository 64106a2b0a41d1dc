"""The price arithmetic: whole øre, half-up, net + vat = gross exactly (with hypothesis)."""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hallkey.booking.pricing import (
    MAX_AMOUNT_ORE,
    Price,
    format_kroner,
    format_vat_rate,
    parse_vat_rate,
    quote,
    round_half_up,
)

amounts = st.integers(min_value=0, max_value=MAX_AMOUNT_ORE)
rates = st.integers(min_value=0, max_value=10_000)
minutes = st.integers(min_value=1, max_value=366 * 24 * 60)


def test_quote__hourly__pro_rata_by_the_minute() -> None:
    price = Price(group="private", unit="hour", amount_ore=50_000, vat_basis_points=2500)
    result = quote(price, timedelta(minutes=90))
    assert (result.net_ore, result.vat_ore, result.gross_ore) == (75_000, 18_750, 93_750)


def test_quote__hourly__rounds_half_up_to_whole_ore() -> None:
    # 1 øre an hour for 30 minutes is half an øre: up to 1; 29 minutes is less: down to 0.
    price = Price(group="g", unit="hour", amount_ore=1, vat_basis_points=0)
    assert quote(price, timedelta(minutes=30)).net_ore == 1
    assert quote(price, timedelta(minutes=29)).net_ore == 0
    # 333 øre an hour for 20 minutes = 111 øre exactly; VAT 12 % of 111 = 13.32 → 13.
    price = Price(group="g", unit="hour", amount_ore=333, vat_basis_points=1200)
    result = quote(price, timedelta(minutes=20))
    assert (result.net_ore, result.vat_ore, result.gross_ore) == (111, 13, 124)
    # VAT 25 % of 2 øre is 0.5 → 1.
    assert quote(Price("g", "fixed", 2, 2500), timedelta(minutes=1)).vat_ore == 1


def test_quote__fixed__ignores_the_length() -> None:
    price = Price(group="organisation", unit="fixed", amount_ore=120_000, vat_basis_points=0)
    assert quote(price, timedelta(minutes=15)) == quote(price, timedelta(hours=10))
    assert quote(price, timedelta(hours=3)).gross_ore == 120_000


def test_quote__free_group__costs_nothing() -> None:
    result = quote(Price("youth", "hour", 0, 2500), timedelta(hours=2))
    assert (result.net_ore, result.vat_ore, result.gross_ore) == (0, 0, 0)


def test_quote__no_length__refused() -> None:
    with pytest.raises(ValueError):
        quote(Price("g", "hour", 100, 0), timedelta(0))


@given(amount=amounts, rate=rates, length=minutes)
def test_quote__adds_up_exactly(amount: int, rate: int, length: int) -> None:
    result = quote(Price("g", "hour", amount, rate), timedelta(minutes=length))
    assert all(isinstance(v, int) for v in (result.net_ore, result.vat_ore, result.gross_ore))
    assert result.net_ore + result.vat_ore == result.gross_ore
    exact_net = Fraction(amount * length, 60)
    assert abs(result.net_ore - exact_net) <= Fraction(1, 2)
    assert result.net_ore - exact_net != Fraction(-1, 2)  # a half goes up, never down
    exact_vat = Fraction(result.net_ore * rate, 10_000)
    assert abs(result.vat_ore - exact_vat) <= Fraction(1, 2)
    assert 0 <= result.vat_ore <= result.net_ore


@given(amount=amounts, rate=rates, length=minutes, more=st.integers(1, 600))
def test_quote__hourly__never_cheaper_for_longer(
    amount: int, rate: int, length: int, more: int
) -> None:
    price = Price("g", "hour", amount, rate)
    shorter = quote(price, timedelta(minutes=length))
    longer = quote(price, timedelta(minutes=length + more))
    assert longer.net_ore >= shorter.net_ore
    assert longer.gross_ore >= shorter.gross_ore


@given(amount=amounts, hours=st.integers(1, 24 * 366))
def test_quote__whole_hours__are_exact(amount: int, hours: int) -> None:
    assert quote(Price("g", "hour", amount, 0), timedelta(hours=hours)).net_ore == amount * hours


@given(st.fractions(min_value=0, max_value=10**9))
def test_round_half_up__nearest_whole(value: Fraction) -> None:
    rounded = round_half_up(value)
    assert value - Fraction(1, 2) < rounded <= value + Fraction(1, 2)


def test_round_half_up__negative_refused() -> None:
    with pytest.raises(ValueError):
        round_half_up(Fraction(-1))


@pytest.mark.parametrize(
    ("text", "basis_points"),
    [("25", 2500), ("12", 1200), ("15.5", 1550), ("0", 0), ("6.25", 625), ("100", 10_000)],
)
def test_parse_vat_rate__percent_strings(text: str, basis_points: int) -> None:
    assert parse_vat_rate(text) == basis_points
    assert parse_vat_rate(format_vat_rate(basis_points)) == basis_points


@pytest.mark.parametrize("text", ["", "25%", "-1", "100.5", "101", "1e2", "0.125", " 25", "025"])
def test_parse_vat_rate__anything_else_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_vat_rate(text)


@given(rates)
def test_vat_rate__round_trips(basis_points: int) -> None:
    assert parse_vat_rate(format_vat_rate(basis_points)) == basis_points


def test_format_kroner__both_locales() -> None:
    assert format_kroner(123_450) == "1\u00a0234,50\u00a0kr"
    assert format_kroner(123_450, locale="en") == "NOK 1,234.50"
    assert format_kroner(5) == "0,05\u00a0kr"
