"""Server-rendered pages shared by the contexts: languages, templates, forms, CSRF, style.

A context builds one `Pages` with its own template folder and catalog; the base layout, the
stylesheet and the shared strings come from here. Pages work without JavaScript.
"""

from hallkey.core.pages.csrf import CSRF_COOKIE, CSRF_FIELD, check_csrf, csrf_token
from hallkey.core.pages.forms import read_form
from hallkey.core.pages.i18n import DEFAULT_LANG, LANG_COOKIE, LANGS, negotiate_lang
from hallkey.core.pages.render import Pages, static_router
from hallkey.core.pages.routes import SignInNeeded, page_route

__all__ = [
    "CSRF_COOKIE",
    "CSRF_FIELD",
    "DEFAULT_LANG",
    "LANGS",
    "LANG_COOKIE",
    "Pages",
    "SignInNeeded",
    "check_csrf",
    "csrf_token",
    "negotiate_lang",
    "page_route",
    "read_form",
    "static_router",
]
