"""SMS length: GSM-7 (with its extension table) or UCS-2, in one or more segments."""

from __future__ import annotations

from hallkey.core.messaging import sms_length
from hallkey.core.messaging.segments import fits, plain_punctuation


def test_gsm7__norwegian_letters_are_gsm7__160_in_one_segment() -> None:
    assert sms_length("Blåbærsyltetøy på Ærø og Ålesund" + "x" * 0).encoding == "gsm7"
    assert sms_length("a" * 160).segments == 1
    assert sms_length("æ" * 160) == sms_length("a" * 160)


def test_gsm7__over_160__153_a_segment() -> None:
    assert sms_length("a" * 161).segments == 2
    assert sms_length("a" * 306).segments == 2
    assert sms_length("a" * 307).segments == 3


def test_gsm7__extension_characters_take_two_units() -> None:
    assert sms_length("€").units == 2
    assert sms_length("{}[]~|^\\").units == 16
    assert sms_length("€" * 80).segments == 1
    assert sms_length("a" + "€" * 80).segments == 2


def test_gsm7__an_escape_pair_is_never_split_across_segments() -> None:
    # 152 units, then a two-unit character: it starts the second segment (154 > 153).
    assert sms_length("a" * 152 + "€" + "a" * 152).segments == 3


def test_ucs2__an_emoji_or_en_dash_makes_the_whole_text_ucs2() -> None:
    assert sms_length("Velkommen 🙂").encoding == "ucs2"
    assert sms_length("18:00\u201319:00").encoding == "ucs2"
    assert sms_length("🙂").units == 2
    assert sms_length("ж" * 70).segments == 1
    assert sms_length("ж" * 71).segments == 2
    assert sms_length("ж" * 134).segments == 2
    assert sms_length("ж" * 135).segments == 3


def test_ucs2__a_surrogate_pair_is_never_split() -> None:
    assert sms_length("ж" * 66 + "🙂" + "ж" * 66).segments == 3


def test_plain_punctuation__keeps_a_text_in_gsm7() -> None:
    text = plain_punctuation("1. desember 18:00\u201319:00 \u2026 \u201cHei\u201d")
    assert text == '1. desember 18:00-19:00 ... "Hei"'
    assert sms_length(text).encoding == "gsm7"


def test_fits__two_segments_is_the_contract() -> None:
    assert fits("a" * 306)
    assert not fits("a" * 307)
