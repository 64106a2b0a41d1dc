"""Languages of the pages: which one a request wants, and its gettext catalog.

Templates are written in English; Norwegian bokmål (the default language) comes from gettext
catalogs (`locale/nb/LC_MESSAGES/*.po`: one file per group of pages, merged), read with babel
and compiled in memory when a context starts, so there is no build step and no compiled file
to forget.
"""

from __future__ import annotations

from functools import cache
from io import BytesIO
from pathlib import Path

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from starlette.requests import Request

LANGS: tuple[str, ...] = ("nb", "en")
DEFAULT_LANG = "nb"
LANG_COOKIE = "lang"
DOMAIN = "hallkey"
BABEL_LOCALES = {"nb": "nb_NO", "en": "en_GB"}
"""The babel locale that formats dates, times and money for each language."""

CORE_LOCALE_DIR = Path(__file__).parent / "locale"


def negotiate_lang(request: Request) -> str:
    """Returns the page's language: `?lang=`, then the cookie, then `Accept-Language`."""
    asked = request.query_params.get("lang")
    if asked in LANGS:
        return asked
    cookie = request.cookies.get(LANG_COOKIE)
    if cookie in LANGS:
        return cookie
    header = request.headers.get("accept-language", "")
    wanted = [part.split(";")[0].strip().replace("-", "_") for part in header.split(",")]
    chosen = Locale.negotiate([w for w in wanted if w], ["nb", "nn", "no", "en"], sep="_")
    if chosen is not None and chosen.language == "en":
        return "en"
    return DEFAULT_LANG


def babel_locale(lang: str) -> str:
    """Returns the babel locale name for one of `LANGS`."""
    return BABEL_LOCALES.get(lang, BABEL_LOCALES[DEFAULT_LANG])


def _compile(po_file: Path, lang: str) -> Translations:
    with po_file.open("rb") as handle:
        catalog = read_po(handle, locale=babel_locale(lang), domain=DOMAIN)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def catalog_files(lang: str, locale_dirs: tuple[Path, ...]) -> list[Path]:
    """Returns the catalog files of `lang` in the folders, in the order they are merged."""
    return [
        po_file
        for folder in locale_dirs
        for po_file in sorted((folder / lang / "LC_MESSAGES").glob("*.po"))
    ]


@cache
def translations(lang: str, locale_dirs: tuple[Path, ...]) -> NullTranslations:
    """Returns the merged catalogs of `lang` from each folder (later folders win; within one,
    its files in name order); English, the templates' own language, needs none."""
    merged: NullTranslations = NullTranslations()
    for po_file in catalog_files(lang, locale_dirs):
        compiled = _compile(po_file, lang)
        if isinstance(merged, Translations):
            merged.merge(compiled)
        else:
            merged = compiled
    return merged
