"""How many SMS segments a text takes: GSM-7 (with its extension table) or UCS-2.

A text of GSM-7 characters only is sent 7 bits a character, 160 in one segment or 153 in each
of several; an extension character (`{`, `€`, …) takes two. Any other character (an emoji, a
Greek or Cyrillic letter; not æ, ø or å, which GSM-7 holds) makes the whole text UCS-2: 70
UTF-16 units in one segment or 67 in each of several (an emoji takes two units).
"""

from __future__ import annotations

from dataclasses import dataclass

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

MAX_SEGMENTS = 2
"""The contract: every SMS the hub sends fits in one or two segments."""


@dataclass(frozen=True)
class SmsLength:
    """A text's `encoding` (`gsm7` or `ucs2`), its length in that encoding's units and its
    number of segments."""

    encoding: str
    units: int
    segments: int


def _pack(sizes: list[int], single: int, each: int) -> int:
    """Returns the segments holding characters of these unit sizes (none split across two)."""
    if sum(sizes) <= single:
        return 1
    segments, used = 1, 0
    for size in sizes:
        if used + size > each:
            segments += 1
            used = 0
        used += size
    return segments


def sms_length(text: str) -> SmsLength:
    """Returns the encoding, units and segments of `text` as a gateway sends it."""
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text):
        sizes = [2 if ch in GSM7_EXTENSION else 1 for ch in text]
        return SmsLength("gsm7", sum(sizes), _pack(sizes, 160, 153))
    sizes = [2 if ord(ch) > 0xFFFF else 1 for ch in text]
    return SmsLength("ucs2", sum(sizes), _pack(sizes, 70, 67))


def fits(text: str, max_segments: int = MAX_SEGMENTS) -> bool:
    """Tells whether `text` goes in at most `max_segments` segments."""
    return sms_length(text).segments <= max_segments


_TYPOGRAPHY = str.maketrans(
    {
        "\u2013": "-",  # en dash
        "\u2014": "-",  # em dash
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2026": "...",
        "\u00a0": " ",  # no-break space
        "\u202f": " ",  # narrow no-break space (babel's, before AM/PM in some locales)
        "\u2009": " ",  # thin space
    }
)


def plain_punctuation(text: str) -> str:
    """Returns `text` with typographic dashes, quotes and spaces made GSM-7 ones, so that one
    en dash does not make a whole text UCS-2 (70 characters a segment instead of 160)."""
    return text.translate(_TYPOGRAPHY)
