"""The customers' sign-in e-mail in Norwegian bokmål (`nb`) and English (`en`), as
`email_texts` writes the other customer e-mails. Pure: no database, no sending."""

from __future__ import annotations

from dataclasses import dataclass

LOCALES = ("nb", "en")

_TEXTS = {
    "nb": {
        "subject": "Lenken din for å logge inn",
        "body": (
            "Hei!\n\n"
            "Logg inn for å se og endre reservasjonene dine: {url}\n\n"
            "Lenken virker én gang, innen {minutes} minutter. Koden i den, om du må skrive "
            "den inn: {token}\n\n"
            "Har du ikke bedt om å logge inn, kan du se bort fra denne e-posten: ingenting "
            "skjer uten lenken.\n"
        ),
    },
    "en": {
        "subject": "Your sign-in link",
        "body": (
            "Hello,\n\n"
            "Sign in to see and manage your bookings: {url}\n\n"
            "The link works once, within {minutes} minutes. Its code, should you need to "
            "type it: {token}\n\n"
            "If you did not ask to sign in, ignore this message: nothing happens without the "
            "link.\n"
        ),
    },
}


@dataclass(frozen=True)
class SignInEmail:
    """A rendered sign-in e-mail (holds the link: never log)."""

    subject: str
    text: str


def render(locale: str, url: str, token: str, minutes: int) -> SignInEmail:
    """Returns the sign-in e-mail in `locale` (bokmål when unknown)."""
    texts = _TEXTS[locale if locale in _TEXTS else "nb"]
    body = texts["body"].format(url=url, token=token, minutes=minutes)
    return SignInEmail(subject=texts["subject"], text=body)
