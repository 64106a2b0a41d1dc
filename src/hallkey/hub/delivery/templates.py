"""Message templates: Jinja2 files in `texts/`, one per message type and locale (nb, en).

Each file has the blocks `subject`, `sms`, `text` (the email's plain text) and `html` (its
HTML part, autoescaped). Dates, times and lists are formatted by babel in the recipient's
locale and the venue's time zone; an SMS is shortened (fewer windows shown) until it fits the
contract's two segments.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, format_interval, format_skeleton, format_time
from babel.lists import format_list
from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, select_autoescape

from hallkey.core.messaging.segments import MAX_SEGMENTS, plain_punctuation, sms_length
from hallkey.hub.domain import Window

LOCALES = ("nb", "en")
DEFAULT_LOCALE = "nb"
TEMPLATES = ("access_granted", "access_reminder", "access_changed", "access_revoked")
"""The messages to a grant's recipient."""
ALERTS = ("door_offline", "programming_failed")
"""The messages to the operator."""
SMS_ANSWER = "sms_answer"

BABEL_LOCALES = {"nb": "nb_NO", "en": "en_GB"}
"""Babel's locale for each of ours: English as written in Europe (24-hour clock, day first)."""

MAX_WINDOWS_SHOWN = 4
DASH = "\u2013"  # an en dash, as time spans are written
_MORE = {"nb": "og {n} tidsrom til", "en": "and {n} more"}
_OR = {"nb": "eller", "en": "or"}
TEXTS = Path(__file__).parent / "texts"
ELLIPSIS = "..."


@dataclass(frozen=True)
class Rendered:
    """A rendered message: the email's `subject`, `email` (plain text) and `html`; the `sms`."""

    subject: str
    sms: str
    email: str
    html: str


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEXTS),
        autoescape=select_autoescape(default=False, default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


def _lang(locale: str | None) -> str:
    return locale if locale in LOCALES else DEFAULT_LOCALE


def _template(name: str, locale: str) -> Template:
    return _environment().get_template(f"{name}.{locale}.j2")


def _block(template: Template, block: str, values: Mapping[str, Any]) -> str:
    """Renders one block of a template."""
    render = template.blocks[block]
    return "".join(render(template.new_context(dict(values)))).strip()


def _html(template: Template, values: Mapping[str, Any], locale: str) -> str:
    escaped = {
        key: _environment().filters["e"](value) if isinstance(value, str) else value
        for key, value in values.items()
    }
    body = _block(template, "html", escaped)
    return f'<!doctype html>\n<html lang="{locale}"><body>\n{body}\n</body></html>\n'


# --- formatting (babel) -----------------------------------------------------------------


def _day(moment: datetime, locale: str) -> str:
    return format_skeleton("MMMMd", moment, locale=BABEL_LOCALES[locale])


def _time(moment: datetime, locale: str) -> str:
    return format_time(moment, "short", locale=BABEL_LOCALES[locale])


def format_window(window: Window, timezone: str, locale: str) -> str:
    """Returns a window as people read it, e.g. "1. desember 18:00-19:00" (with an en dash)."""
    lang = _lang(locale)
    zone = ZoneInfo(timezone)
    start = window.valid_from.astimezone(zone)
    end = window.valid_to.astimezone(zone)
    if start.date() == end.date():
        hours = format_interval(start, end, "Hm", tzinfo=zone, locale=BABEL_LOCALES[lang])
        return f"{_day(start, lang)} {hours}"
    return f"{_day(start, lang)} {_time(start, lang)} {DASH} {_day(end, lang)} {_time(end, lang)}"


def format_time_frame(
    windows: Sequence[Window], timezone: str, locale: str, *, shown: int = MAX_WINDOWS_SHOWN
) -> str:
    """Returns the windows as people read them, the first `shown` in full."""
    lang = _lang(locale)
    text = ", ".join(format_window(w, timezone, lang) for w in windows[:shown])
    if len(windows) > shown:
        text += " " + _MORE[lang].format(n=len(windows) - shown)
    return text


def format_moment(moment: datetime, timezone: str, locale: str) -> str:
    """Returns a moment as people read it, e.g. "01.12.2026, 18:00"."""
    zone = ZoneInfo(timezone)
    return format_datetime(moment, "short", tzinfo=zone, locale=BABEL_LOCALES[_lang(locale)])


def join_names(names: Sequence[str], locale: str) -> str:
    """Returns "A, B og C" / "A, B and C"."""
    if not names:
        return ""
    return format_list(list(names), locale=BABEL_LOCALES[_lang(locale)])


# --- rendering --------------------------------------------------------------------------


def fit_sms(text: str) -> str:
    """Returns a text in GSM-7 punctuation, cut to the contract's two segments (a last
    resort: the templates fit already)."""
    text = plain_punctuation(text)
    while sms_length(text).segments > MAX_SEGMENTS:
        text = text[: max(0, len(text) - 8)].rstrip() + ELLIPSIS
    return text


def render(
    template: str,
    locale: str,
    *,
    doors: Sequence[str],
    place: str,
    windows: Sequence[Window],
    timezone: str,
    code: str | None,
    link: str | None = None,
    sms_number: str | None = None,
    keywords: Sequence[str] = (),
) -> Rendered:
    """Returns the message `template` in `locale` (falling back to nb) with its placeholders;
    with a `link` (a URL key or mobile key) instead of a code, its wording for a key; with an
    `sms_number` (SMS access), the number to text and each door's keyword."""
    lang = _lang(locale)
    kind = "sms" if sms_number is not None else ("link" if link and not code else "code")
    values: dict[str, Any] = {
        "kind": kind,
        "doors": join_names(doors, lang),
        "place": place,
        "time_frame": format_time_frame(windows, timezone, lang),
        "code": code or "",
        "link": link or "",
        "number": sms_number or "",
        "keywords": f" {_OR[lang]} ".join(keywords),
    }
    files = _template(template, lang)
    sms = plain_punctuation(_block(files, "sms", values))
    shown = min(len(windows), MAX_WINDOWS_SHOWN)
    while sms_length(sms).segments > MAX_SEGMENTS and shown > 1:
        # Fewer windows in full: the email has them all, the text must stay short.
        shown -= 1
        short = {**values, "time_frame": format_time_frame(windows, timezone, lang, shown=shown)}
        sms = plain_punctuation(_block(files, "sms", short))
    return Rendered(
        subject=_block(files, "subject", values),
        sms=fit_sms(sms),
        email=_block(files, "text", values) + "\n",
        html=_html(files, values, lang),
    )


def render_alert(template: str, locale: str | None, values: Mapping[str, Any]) -> Rendered:
    """Returns an operator alert (`door_offline`, `programming_failed`) in `locale`."""
    lang = _lang(locale)
    files = _template(template, lang)
    return Rendered(
        subject=_block(files, "subject", values),
        sms=fit_sms(_block(files, "sms", values)),
        email=_block(files, "text", values) + "\n",
        html=_html(files, values, lang),
    )


def render_sms_answer(template: str, locale: str | None) -> str:
    """Returns the answer to a guest's text (`sms_opened`, …) in `locale` (falling back to nb)."""
    return fit_sms(_block(_template(SMS_ANSWER, _lang(locale)), "sms", {"outcome": template}))
