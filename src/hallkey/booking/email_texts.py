"""The booking system's emails to its customers, in Norwegian bokmål (`nb`) and English (`en`):
plain text and HTML from the same facts. Pure: no database, no sending."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from babel.dates import format_date, get_day_names

from hallkey.booking.pricing import format_kroner
from hallkey.booking.schemas import QuoteOut

KINDS = ("received", "confirmed", "approved", "changed", "denied", "cancelled")
DASH = "\u2013"

BABEL_LOCALES = {"nb": "nb_NO", "en": "en_GB"}
"""Babel's locale for each of ours: month and weekday names come from CLDR, never from here."""
_DATE_PATTERNS = {"nb": "EEEE d. MMMM y", "en": "EEEE d MMMM y"}

# kind -> locale -> (subject, what happened)
_TEXTS: dict[str, dict[str, tuple[str, str]]] = {
    "received": {
        "nb": (
            "Vi har mottatt søknaden din: {resource}",
            "Vi har mottatt søknaden din om å leie {resource}. En saksbehandler ser på den, "
            "og du får en ny e-post når den er avgjort.",
        ),
        "en": (
            "We have received your request: {resource}",
            "We have received your request to book {resource}. A case officer will look at "
            "it, and you will get another email once it is decided.",
        ),
    },
    "confirmed": {
        "nb": ("Bekreftet: {resource}", "Reservasjonen din av {resource} er bekreftet."),
        "en": ("Confirmed: {resource}", "Your booking of {resource} is confirmed."),
    },
    "approved": {
        "nb": (
            "Godkjent: {resource}",
            "Søknaden din om å leie {resource} er godkjent, og reservasjonen er bekreftet.",
        ),
        "en": (
            "Approved: {resource}",
            "Your request to book {resource} is approved, and the booking is confirmed.",
        ),
    },
    "changed": {
        "nb": ("Endret: {resource}", "Reservasjonen din av {resource} er endret."),
        "en": ("Changed: {resource}", "Your booking of {resource} has been changed."),
    },
    "denied": {
        "nb": ("Avslått: {resource}", "Søknaden din om å leie {resource} er dessverre avslått."),
        "en": ("Declined: {resource}", "Your request to book {resource} has been declined."),
    },
    "cancelled": {
        "nb": ("Avbestilt: {resource}", "Reservasjonen din av {resource} er avbestilt."),
        "en": ("Cancelled: {resource}", "Your booking of {resource} has been cancelled."),
    },
}

_LABELS = {
    "nb": {
        "hello": "Hei!",
        "what": "Hva",
        "where": "Hvor",
        "when": "Når",
        "price": "Pris",
        "vat": "herav mva. {rate} %",
        "ref": "Referanse",
        "reason": "Begrunnelse",
        "calendar": "Reservasjonen ligger vedlagt som kalenderfil.",
        "regards": "Hilsen {tenant}",
    },
    "en": {
        "hello": "Hello,",
        "what": "What",
        "where": "Where",
        "when": "When",
        "price": "Price",
        "vat": "incl. VAT {rate}%",
        "ref": "Reference",
        "reason": "Reason",
        "calendar": "The booking is attached as a calendar file.",
        "regards": "Regards, {tenant}",
    },
}


@dataclass(frozen=True)
class EmailFacts:
    """What a customer's email tells (never logged: it holds the reason and the booking)."""

    kind: str
    locale: str
    tenant: str
    resource: str
    place: str
    start: datetime
    end: datetime
    timezone: str
    ref: str
    price: QuoteOut | None = None
    reason: str | None = None
    # The "when" line as written, instead of start and end (a series: its days and times).
    when: str | None = None


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def weekday_name(iso_weekday: int, locale: str) -> str:
    """Returns the name of an ISO weekday (1 = Monday) in the language (babel's)."""
    lang = locale if locale in BABEL_LOCALES else "nb"
    return str(get_day_names("wide", locale=BABEL_LOCALES[lang])[iso_weekday - 1])


def day_text(moment: datetime, locale: str) -> str:
    """Returns a date as people write it ("tirsdag 1. september 2026")."""
    return _day(moment, locale if locale in BABEL_LOCALES else "nb")


def _day(moment: datetime, locale: str) -> str:
    # The moment is already in the venue's zone: babel formats its date as it stands.
    return format_date(moment.date(), _DATE_PATTERNS[locale], locale=BABEL_LOCALES[locale])


def time_frame(start: datetime, end: datetime, timezone: str, locale: str) -> str:
    """Returns `[start, end)` in the venue's local time, as people write it."""
    zone = ZoneInfo(timezone)
    first, last = start.astimezone(zone), end.astimezone(zone)
    if first.date() == last.date():
        return f"{_day(first, locale)} {first:%H:%M}{DASH}{last:%H:%M}"
    return f"{_day(first, locale)} {first:%H:%M} {DASH} {_day(last, locale)} {last:%H:%M}"


def render(facts: EmailFacts) -> RenderedEmail:
    """Returns the email of this kind in the facts' language (bokmål when unknown)."""
    locale = facts.locale if facts.locale in _LABELS else "nb"
    labels = _LABELS[locale]
    subject, happened = _TEXTS[facts.kind][locale]
    rows = [
        (labels["what"], facts.resource),
        (labels["where"], facts.place),
        (
            labels["when"],
            facts.when or time_frame(facts.start, facts.end, facts.timezone, locale),
        ),
    ]
    if facts.price is not None:
        price = format_kroner(facts.price.gross_ore, locale=locale)
        if facts.price.vat_ore:
            vat = labels["vat"].format(rate=facts.price.vat_rate)
            price = f"{price} ({vat}: {format_kroner(facts.price.vat_ore, locale=locale)})"
        rows.append((labels["price"], price))
    rows.append((labels["ref"], facts.ref))
    if facts.kind == "denied" and facts.reason:
        rows.append((labels["reason"], facts.reason))
    intro = happened.format(resource=facts.resource)
    regards = labels["regards"].format(tenant=facts.tenant)
    text = "\n".join(
        [
            labels["hello"],
            "",
            intro,
            "",
            *(f"{label}: {value}" for label, value in rows),
            "",
            labels["calendar"],
            "",
            regards,
            "",
        ]
    )
    table = "".join(
        f'<tr><th align="left">{escape(label)}</th><td>{escape(value)}</td></tr>'
        for label, value in rows
    )
    html = (
        f'<!doctype html><html lang="{locale}"><body>'
        f"<p>{escape(labels['hello'])}</p><p>{escape(intro)}</p>"
        f"<table>{table}</table>"
        f"<p>{escape(labels['calendar'])}</p><p>{escape(regards)}</p>"
        "</body></html>"
    )
    return RenderedEmail(subject=subject.format(resource=facts.resource), text=text, html=html)
