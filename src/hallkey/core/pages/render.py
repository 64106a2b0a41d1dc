"""Rendering a page: Jinja2 templates with gettext, babel's dates and money, and the headers
every page carries (Content-Security-Policy without inline scripts, the language and CSRF
cookies)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from babel.dates import (
    format_date,
    format_datetime,
    format_skeleton,
    format_time,
    format_timedelta,
)
from babel.lists import format_list
from babel.numbers import format_currency
from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    pass_context,
    select_autoescape,
)
from jinja2.runtime import Context
from markupsafe import Markup
from starlette.requests import Request

from hallkey.core.errors import AppError
from hallkey.core.pages.csrf import CSRF_COOKIE, csrf_token
from hallkey.core.pages.i18n import (
    CORE_LOCALE_DIR,
    LANG_COOKIE,
    babel_locale,
    negotiate_lang,
    translations,
)

CORE_TEMPLATES = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
STYLESHEET = "hallkey.css"

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
"""No inline script or style, nothing from elsewhere; forms post only to this site."""


ERROR_TITLES = {
    401: "Sign in first.",
    403: "You may not do this.",
    404: "Not found.",
    409: "This could not be done.",
    429: "Too many attempts. Wait a while and try again.",
}
"""The title of an error page by its status (the catalogs translate them)."""


def _new_gettext(translate: Callable[[str], str]) -> Callable[..., str]:
    @pass_context
    def gettext(context: Context, message: str, **variables: Any) -> str:
        text = translate(message)
        if context.eval_ctx.autoescape:
            text = Markup(text)  # noqa: S704 - our own catalog's text; variables are escaped
        return text % variables if variables else text

    return gettext


def _new_ngettext(translate: Callable[[str, str, int], str]) -> Callable[..., str]:
    @pass_context
    def ngettext(context: Context, singular: str, plural: str, num: int, **variables: Any) -> str:
        variables.setdefault("num", num)
        text = translate(singular, plural, num)
        if context.eval_ctx.autoescape:
            text = Markup(text)  # noqa: S704 - our own catalog's text; variables are escaped
        return text % variables

    return ngettext


@pass_context
def _datetime(context: Context, value: datetime, timezone: str, style: str = "medium") -> str:
    return format_datetime(value, style, tzinfo=_zone(timezone), locale=_locale(context))


@pass_context
def _date(context: Context, value: datetime, timezone: str, style: str = "full") -> str:
    local = value.astimezone(_zone(timezone))
    return format_date(local.date(), style, locale=_locale(context))


@pass_context
def _time(context: Context, value: datetime, timezone: str, style: str = "short") -> str:
    return format_time(value, style, tzinfo=_zone(timezone), locale=_locale(context))


@pass_context
def _interval(context: Context, start: datetime, end: datetime, timezone: str) -> str:
    """A time frame as people read it in the venue's zone, e.g. "tor. 3. desember 18:00-19:30",
    with the day written again when it ends on another day."""
    zone, locale = _zone(timezone), _locale(context)
    first, last = start.astimezone(zone), end.astimezone(zone)

    def day(moment: datetime) -> str:
        return format_skeleton("MMMMEd", moment, locale=locale)

    def clock(moment: datetime) -> str:
        return format_time(moment, "short", locale=locale)

    if first.date() == last.date():
        return f"{day(first)} {clock(first)}\u2013{clock(last)}"
    return f"{day(first)} {clock(first)} \u2013 {day(last)} {clock(last)}"


@pass_context
def _duration(context: Context, value: timedelta) -> str:
    """A wait as people say it: "25 minutter", "1 time og 30 minutter", "3 dager" (minutes
    rounded up, so a countdown never promises less than is left)."""
    locale = _locale(context)
    minutes = -(-int(value.total_seconds()) // 60)
    if minutes >= 48 * 60:
        return format_timedelta(value, threshold=1, locale=locale)
    hours, minutes = divmod(max(minutes, 1), 60)
    parts = [format_timedelta(timedelta(hours=hours), threshold=1, locale=locale)] if hours else []
    if minutes:
        parts.append(format_timedelta(timedelta(minutes=minutes), threshold=1, locale=locale))
    return format_list(parts, locale=locale)


@pass_context
def _money(context: Context, ore: int, currency: str = "NOK") -> str:
    return format_currency(Decimal(ore) / 100, currency, locale=_locale(context))


def _lang_url(request: Request, path: str, lang: str) -> str:
    """Returns this page's address in another language, its other query parameters kept (a
    week shown, a confirmation's token). `path` is the page's own: an answer to a post shows
    the page it came from."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    return f"{path}?{urlencode([*params, ('lang', lang)])}"


def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _locale(context: Context) -> str:
    return babel_locale(str(context.get("lang", "nb")))


class Pages:
    """The templates of one context, with the shared layout, strings and filters.

    `template_dir` holds the context's templates (they extend `base.html`); `locale_dir` its
    catalogs, merged over the shared ones. `static_prefix` is where the context serves the
    stylesheet (`static_router`).
    """

    def __init__(self, template_dir: Path, locale_dir: Path | None, static_prefix: str) -> None:
        self.locale_dirs: tuple[Path, ...] = (CORE_LOCALE_DIR,) + (
            (locale_dir,) if locale_dir else ()
        )
        self.static_prefix = static_prefix
        self.env = Environment(
            loader=ChoiceLoader([FileSystemLoader(template_dir), FileSystemLoader(CORE_TEMPLATES)]),
            autoescape=select_autoescape(default=True, default_for_string=True),
            extensions=["jinja2.ext.i18n"],
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        # Marks the i18n extension new-style; each render passes its language's functions.
        self.env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
        self.env.filters.update(
            datetime=_datetime,
            date=_date,
            time=_time,
            interval=_interval,
            duration=_duration,
            money=_money,
        )

    def render(
        self,
        request: Request,
        template: str,
        *,
        status: int = 200,
        lang: str | None = None,
        headers: Mapping[str, str] | None = None,
        **context: Any,
    ) -> HTMLResponse:
        """Renders `template` in the request's language, with its CSRF token, and sets the
        language and CSRF cookies and the page's security headers."""
        lang = lang or negotiate_lang(request)
        csrf = csrf_token(request)
        catalog = translations(lang, self.locale_dirs)
        values: dict[str, Any] = {
            "lang": lang,
            "csrf": csrf,
            "stylesheet": f"{self.static_prefix}/{STYLESHEET}",
            "path": request.url.path,
            "notice": "",
            "notice_ok": False,
            "gettext": _new_gettext(catalog.gettext),
            "ngettext": _new_ngettext(catalog.ngettext),
            "_": _new_gettext(catalog.gettext),
        }
        values.update(context)
        values["lang_urls"] = {
            other: _lang_url(request, str(values["path"]), other) for other in ("nb", "en")
        }
        text = self.env.get_template(template).render(values)
        response = HTMLResponse(text, status_code=status, headers=dict(headers or {}))
        response.headers["content-security-policy"] = CONTENT_SECURITY_POLICY
        response.headers["x-frame-options"] = "DENY"
        secure = request.url.scheme == "https"
        response.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="strict", secure=secure)
        response.set_cookie(
            LANG_COOKIE, lang, samesite="lax", secure=secure, max_age=365 * 86400, path="/"
        )
        return response

    def error(
        self,
        request: Request,
        error: AppError,
        template: str = "error_page.html",
        **values: Any,
    ) -> HTMLResponse:
        """Renders a service's error as a page with its status: a title by the kind of error,
        and the error's own (English) message below it."""
        title = ERROR_TITLES.get(error.status, "Something in the request is not right.")
        if error.code == "csrf_failed":
            title = "The form has expired. Try again."
        return self.render(
            request,
            template,
            status=error.status,
            headers=dict(error.headers or {}),
            title=self.gettext_request(request, title),
            detail=error.message,
            **values,
        )

    def gettext(self, lang: str, message: str) -> str:
        """Returns `message` in `lang` (for texts made outside a template)."""
        return translations(lang, self.locale_dirs).gettext(message)

    def gettext_request(self, request: Request, message: str) -> str:
        """Returns `message` in the request's language."""
        return self.gettext(negotiate_lang(request), message)


def static_router(prefix: str) -> APIRouter:
    """Returns the router that serves the shared stylesheet at `{prefix}/hallkey.css`."""
    router = APIRouter(include_in_schema=False)
    css = (STATIC_DIR / STYLESHEET).read_bytes()

    @router.get(f"{prefix}/{STYLESHEET}")
    def stylesheet() -> Response:
        return Response(
            css, media_type="text/css", headers={"cache-control": "public, max-age=3600"}
        )

    return router
