"""The e-mails of an application round, in bokmål (`nb`) and English (`en`): the receipt and
the result (what was allocated, what was declined and why). Pure: no database, no sending."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from hallkey.booking.email_texts import DASH, RenderedEmail

_WEEKDAYS = {
    "nb": ["mandager", "tirsdager", "onsdager", "torsdager", "fredager", "lørdager", "søndager"],
    "en": ["Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays"],
}

_TEXTS = {
    "nb": {
        "hello": "Hei!",
        "receipt_subject": "Søknaden er mottatt: {round}",
        "receipt": "Vi har mottatt søknaden fra {organisation} til {round}. Du får svar etter "
        "søknadsfristen. Her ser du søknaden din: {link}",
        "wishes": "Ønsker:",
        "result_subject": "Tildeling: {round}",
        "result": "Tildelingen i {round} for {organisation} er klar ({period}).",
        "allocated": "Tildelt:",
        "declined": "Ikke tildelt:",
        "skipped": "unntatt {dates} (allerede opptatt)",
        "reason": "begrunnelse",
        "nothing": "ingen",
        "keys": "Nøkkelen (koden) til døren får du i en egen melding.",
        "regards": "Hilsen {tenant}",
    },
    "en": {
        "hello": "Hello,",
        "receipt_subject": "Application received: {round}",
        "receipt": "We have received the application of {organisation} to {round}. You will "
        "hear from us after the deadline. Your application: {link}",
        "wishes": "Wishes:",
        "result_subject": "Allocation: {round}",
        "result": "The allocation of {round} for {organisation} is ready ({period}).",
        "allocated": "Allocated:",
        "declined": "Not allocated:",
        "skipped": "except {dates} (already taken)",
        "reason": "reason",
        "nothing": "none",
        "keys": "The key (code) to the door comes in a message of its own.",
        "regards": "Regards, {tenant}",
    },
}


@dataclass(frozen=True)
class SlotLine:
    """One weekly slot as the applicant reads it (holds a decline reason: never logged)."""

    resource: str
    weekday: int
    start_time: str
    end_time: str
    reason: str | None = None
    skipped: tuple[date, ...] = ()


@dataclass(frozen=True)
class RoundLetter:
    kind: str  # "receipt" or "result"
    locale: str
    tenant: str
    round_name: str
    organisation: str
    period_from: date
    period_to: date
    link: str | None = None
    wished: tuple[SlotLine, ...] = ()
    allocated: tuple[SlotLine, ...] = ()
    declined: tuple[SlotLine, ...] = ()


def _slot(line: SlotLine, locale: str) -> str:
    texts = _TEXTS[locale]
    text = (
        f"{line.resource}, {_WEEKDAYS[locale][line.weekday - 1]} "
        f"{line.start_time}{DASH}{line.end_time}"
    )
    if line.skipped:
        text += ", " + texts["skipped"].format(dates=", ".join(d.isoformat() for d in line.skipped))
    if line.reason:
        text += f" ({texts['reason']}: {line.reason})"
    return text


def _section(title: str, lines: tuple[SlotLine, ...], locale: str) -> list[str]:
    body = [f"- {_slot(line, locale)}" for line in lines] or [f"- {_TEXTS[locale]['nothing']}"]
    return [title, *body, ""]


def render(letter: RoundLetter) -> RenderedEmail:
    """Returns the receipt or the result in the letter's language (bokmål when unknown)."""
    locale = letter.locale if letter.locale in _TEXTS else "nb"
    texts = _TEXTS[locale]
    facts = {
        "round": letter.round_name,
        "organisation": letter.organisation,
        "link": letter.link or "",
        "period": f"{letter.period_from.isoformat()}{DASH}{letter.period_to.isoformat()}",
    }
    if letter.kind == "receipt":
        subject = texts["receipt_subject"].format(**facts)
        lines = [
            texts["receipt"].format(**facts),
            "",
            *_section(texts["wishes"], letter.wished, locale),
        ]
    else:
        subject = texts["result_subject"].format(**facts)
        lines = [
            texts["result"].format(**facts),
            "",
            *_section(texts["allocated"], letter.allocated, locale),
            *_section(texts["declined"], letter.declined, locale),
        ]
        if letter.allocated:
            lines += [texts["keys"], ""]
    regards = texts["regards"].format(tenant=letter.tenant)
    text = "\n".join([texts["hello"], "", *lines, regards, ""])
    return RenderedEmail(subject=subject, text=text, html="")
