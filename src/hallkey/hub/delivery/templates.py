"""Message templates in Norwegian bokmål (`nb`, the default) and English (`en`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from hallkey.hub.domain import Window

LOCALES = ("nb", "en")
DEFAULT_LOCALE = "nb"
TEMPLATES = ("access_granted", "access_changed", "access_revoked")

_MONTHS = {
    "nb": [
        "januar", "februar", "mars", "april", "mai", "juni",
        "juli", "august", "september", "oktober", "november", "desember",
    ],
    "en": [
        "January", "February", "March", "April", "May", "June",
        "July", "August", "September", "October", "November", "December",
    ],
}  # fmt: skip

_AND = {"nb": "og", "en": "and"}
_MORE = {"nb": "og {n} tidsrom til", "en": "and {n} more"}
MAX_WINDOWS_SHOWN = 4
DASH = "\u2013"  # an en dash, as time spans are written


@dataclass(frozen=True)
class Rendered:
    """A rendered message: `subject` (email only) and `body`."""

    subject: str
    sms: str
    email: str


_TEXTS: dict[str, dict[str, tuple[str, str, str]]] = {
    # template -> locale -> (email subject, sms body, email body)
    "access_granted": {
        "nb": (
            "Din kode til {place}",
            "Koden din til {doors} på {place} er {code}. Gyldig {time_frame}.",
            "Hei!\n\nDu har fått tilgang til {doors} på {place}.\n\n"
            "Tidsrom: {time_frame}\nKode: {code}\n\n"
            "Tast koden på tastaturet ved døren. Koden virker bare i tidsrommet.\n",
        ),
        "en": (
            "Your code for {place}",
            "Your code for {doors} at {place} is {code}. Valid {time_frame}.",
            "Hello,\n\nYou have been given access to {doors} at {place}.\n\n"
            "Time: {time_frame}\nCode: {code}\n\n"
            "Enter the code on the keypad at the door. It works only in that time.\n",
        ),
    },
    "access_changed": {
        "nb": (
            "Endret tilgang til {place}",
            "Tilgangen din til {doors} på {place} er endret. Koden er {code}, gyldig {time_frame}.",
            "Hei!\n\nTilgangen din til {doors} på {place} er endret.\n\n"
            "Nytt tidsrom: {time_frame}\nKode: {code}\n",
        ),
        "en": (
            "Your access to {place} has changed",
            "Your access to {doors} at {place} has changed. Your code is {code}, "
            "valid {time_frame}.",
            "Hello,\n\nYour access to {doors} at {place} has changed.\n\n"
            "New time: {time_frame}\nCode: {code}\n",
        ),
    },
    "access_revoked": {
        "nb": (
            "Tilgangen til {place} er trukket tilbake",
            "Tilgangen din til {doors} på {place} ({time_frame}) er trukket tilbake. "
            "Koden virker ikke lenger.",
            "Hei!\n\nTilgangen din til {doors} på {place} ({time_frame}) er trukket "
            "tilbake. Koden virker ikke lenger.\n",
        ),
        "en": (
            "Your access to {place} has been withdrawn",
            "Your access to {doors} at {place} ({time_frame}) has been withdrawn. "
            "The code no longer works.",
            "Hello,\n\nYour access to {doors} at {place} ({time_frame}) has been "
            "withdrawn. The code no longer works.\n",
        ),
    },
}

_LINK_TEXTS: dict[str, dict[str, tuple[str, str, str]]] = {
    # The same messages for a key that is a link (URL key) or a token (mobile key).
    "access_granted": {
        "nb": (
            "Din nøkkel til {place}",
            "Nøkkelen din til {doors} på {place}: {link} Gyldig {time_frame}.",
            "Hei!\n\nDu har fått tilgang til {doors} på {place}.\n\n"
            "Tidsrom: {time_frame}\nNøkkel: {link}\n\n"
            "Nøkkelen virker bare i tidsrommet.\n",
        ),
        "en": (
            "Your key for {place}",
            "Your key for {doors} at {place}: {link} Valid {time_frame}.",
            "Hello,\n\nYou have been given access to {doors} at {place}.\n\n"
            "Time: {time_frame}\nKey: {link}\n\n"
            "The key works only in that time.\n",
        ),
    },
    "access_changed": {
        "nb": (
            "Endret tilgang til {place}",
            "Tilgangen din til {doors} på {place} er endret: {link} Gyldig {time_frame}.",
            "Hei!\n\nTilgangen din til {doors} på {place} er endret.\n\n"
            "Nytt tidsrom: {time_frame}\nNøkkel: {link}\n",
        ),
        "en": (
            "Your access to {place} has changed",
            "Your access to {doors} at {place} has changed: {link} Valid {time_frame}.",
            "Hello,\n\nYour access to {doors} at {place} has changed.\n\n"
            "New time: {time_frame}\nKey: {link}\n",
        ),
    },
}


_SMS_ACCESS_TEXTS: dict[str, dict[str, tuple[str, str, str]]] = {
    # The same messages for SMS access: the guest texts a door's keyword to the hub's number.
    "access_granted": {
        "nb": (
            "Din tilgang til {place}",
            "Du har tilgang til {doors} på {place} {time_frame}. For å åpne: send {keywords} "
            "på SMS til {number} fra denne telefonen.",
            "Hei!\n\nDu har fått tilgang til {doors} på {place}.\n\n"
            "Tidsrom: {time_frame}\nFor å åpne: send {keywords} på SMS til {number} fra "
            "telefonen du har oppgitt.\n\nDet virker bare i tidsrommet.\n",
        ),
        "en": (
            "Your access to {place}",
            "You have access to {doors} at {place} {time_frame}. To open: text {keywords} "
            "to {number} from this phone.",
            "Hello,\n\nYou have been given access to {doors} at {place}.\n\n"
            "Time: {time_frame}\nTo open: text {keywords} to {number} from the phone you "
            "gave.\n\nIt works only in that time.\n",
        ),
    },
    "access_changed": {
        "nb": (
            "Endret tilgang til {place}",
            "Tilgangen din til {doors} på {place} er endret: {time_frame}. For å åpne: send "
            "{keywords} på SMS til {number}.",
            "Hei!\n\nTilgangen din til {doors} på {place} er endret.\n\n"
            "Nytt tidsrom: {time_frame}\nFor å åpne: send {keywords} på SMS til {number}.\n",
        ),
        "en": (
            "Your access to {place} has changed",
            "Your access to {doors} at {place} has changed: {time_frame}. To open: text "
            "{keywords} to {number}.",
            "Hello,\n\nYour access to {doors} at {place} has changed.\n\n"
            "New time: {time_frame}\nTo open: text {keywords} to {number}.\n",
        ),
    },
    "access_revoked": {
        "nb": (
            "Tilgangen til {place} er trukket tilbake",
            "Tilgangen din til {doors} på {place} ({time_frame}) er trukket tilbake. "
            "En SMS åpner ikke lenger døren.",
            "Hei!\n\nTilgangen din til {doors} på {place} ({time_frame}) er trukket "
            "tilbake. En SMS åpner ikke lenger døren.\n",
        ),
        "en": (
            "Your access to {place} has been withdrawn",
            "Your access to {doors} at {place} ({time_frame}) has been withdrawn. "
            "A text no longer opens the door.",
            "Hello,\n\nYour access to {doors} at {place} ({time_frame}) has been "
            "withdrawn. A text no longer opens the door.\n",
        ),
    },
}

SMS_ANSWERS: dict[str, dict[str, str]] = {
    # The hub's answer to a guest's text (SMS only), by outcome.
    "sms_opened": {"nb": "Døren er åpen nå. Velkommen!", "en": "The door is open now. Welcome!"},
    "sms_not_valid": {
        "nb": "Tilgangen din gjelder ikke nå, så døren ble ikke åpnet.",
        "en": "Your access is not valid now, so the door was not opened.",
    },
    "sms_which_door": {
        "nb": "Hvilken dør? Send kodeordet til døren fra meldingen du fikk.",
        "en": "Which door? Text the door's keyword from the message you were sent.",
    },
    "sms_failed": {
        "nb": "Beklager, døren kunne ikke åpnes akkurat nå. Prøv igjen om litt.",
        "en": "Sorry, the door could not be opened just now. Please try again shortly.",
    },
    "sms_unknown": {
        "nb": "Beklager, vi finner ingen tilgang for dette nummeret. Ta kontakt med utleier "
        "om du mener det er feil.",
        "en": "Sorry, we find no access for this number. Please contact the venue if you "
        "think this is wrong.",
    },
}

_OR = {"nb": "eller", "en": "or"}


def render_sms_answer(template: str, locale: str | None) -> str:
    """Returns the answer to a guest's text in `locale` (falling back to nb)."""
    texts = SMS_ANSWERS[template]
    return texts.get(locale or DEFAULT_LOCALE) or texts[DEFAULT_LOCALE]


def _day(locale: str, day: int, month: int) -> str:
    name = _MONTHS[locale][month - 1]
    return f"{day}. {name}" if locale == "nb" else f"{day} {name}"


def format_window(window: Window, timezone: str, locale: str) -> str:
    """Returns a window as people read it, e.g. "1. desember 18:00-19:00" (with an en dash)."""
    zone = ZoneInfo(timezone)
    start = window.valid_from.astimezone(zone)
    end = window.valid_to.astimezone(zone)
    first = _day(locale, start.day, start.month)
    if start.date() == end.date():
        return f"{first} {start:%H:%M}{DASH}{end:%H:%M}"
    return f"{first} {start:%H:%M} {DASH} {_day(locale, end.day, end.month)} {end:%H:%M}"


def format_time_frame(windows: Sequence[Window], timezone: str, locale: str) -> str:
    """Returns the windows as people read them, the first few in full."""
    shown = [format_window(w, timezone, locale) for w in windows[:MAX_WINDOWS_SHOWN]]
    text = ", ".join(shown)
    if len(windows) > MAX_WINDOWS_SHOWN:
        text += " " + _MORE[locale].format(n=len(windows) - MAX_WINDOWS_SHOWN)
    return text


def join_names(names: Sequence[str], locale: str) -> str:
    """Returns "A, B og C" / "A, B and C"."""
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} {_AND[locale]} {names[-1]}"


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
    if sms_number is not None:
        table = _SMS_ACCESS_TEXTS
    else:
        table = _LINK_TEXTS if link and template in _LINK_TEXTS else _TEXTS
    texts = table[template].get(locale) or table[template][DEFAULT_LOCALE]
    lang = locale if locale in LOCALES else DEFAULT_LOCALE
    values = {
        "doors": join_names(doors, lang),
        "place": place,
        "time_frame": format_time_frame(windows, timezone, lang),
        "code": code or "",
        "link": link or "",
        "number": sms_number or "",
        "keywords": f" {_OR[lang]} ".join(keywords),
    }
    subject, sms, email = (text.format(**values) for text in texts)
    return Rendered(subject=subject, sms=sms, email=email)
