"""The hub's phone numbers: one E.164 form for a grant's recipient and an SMS's sender."""

from __future__ import annotations

import pytest

from hallkey.hub.schemas import e164


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("+47 912 34 567", "+4791234567"),
        ("912 34 567", "+4791234567"),  # no country code: Norwegian
        ("0047 91234567", "+4791234567"),
        ("+46 70 123 45 67", "+46701234567"),
    ],
)
def test_e164__ways_of_writing_a_number__one_form(typed: str, stored: str) -> None:
    assert e164(typed) == stored


@pytest.mark.parametrize("typed", ["12", "not a phone", "+47 000", ""])
def test_e164__not_a_valid_number__value_error(typed: str) -> None:
    with pytest.raises(ValueError):
        e164(typed)
