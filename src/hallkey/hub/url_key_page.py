"""The page of a URL key, `/k/{token}`: server-rendered, mobile first, no JavaScript.

Norwegian bokmål by default, English with `?lang=en` or the browser's `Accept-Language`,
remembered in a cookie. The "Open" form is protected against cross-site requests by a
double-submit token (a random cookie, `SameSite=Strict`, that the form repeats), and every
request is throttled per source address, so tokens cannot be guessed at speed.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Mapping
from html import escape
from typing import Annotated
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse

from hallkey.core.errors import AppError
from hallkey.core.throttle import Rate, Throttle
from hallkey.hub import pulse, url_keys
from hallkey.hub.context import HubContext
from hallkey.hub.delivery.templates import format_time_frame
from hallkey.hub.url_keys import KeyPage

log = logging.getLogger(__name__)

ADDRESS_RATE = Rate(limit=30, per_seconds=60)
"""Requests to URL-key pages per source address: a guest needs a few, a guesser thousands."""
CSRF_COOKIE = "hk_csrf"
LANG_COOKIE = "lang"
LANGS = ("nb", "en")
MAX_FORM_BYTES = 4096
KeyToken = Annotated[str, Path(max_length=64)]

_T: dict[str, dict[str, str]] = {
    "nb": {
        "title": "Nøkkel",
        "doors": "Dører",
        "time": "Tidsrom",
        "open": "Åpne",
        "not_yet": "Ikke åpen ennå. Knappen kommer når tidsrommet begynner.",
        "open_now": "Åpen nå",
        "ended": "Tidsrommet er over.",
        "revoked": "Denne nøkkelen er trukket tilbake.",
        "unknown": "Denne nøkkelen finnes ikke.",
        "opened": "Døren er åpen til {until}.",
        "refused": "Døren ble ikke åpnet: {why}",
        "forbidden": "Skjemaet er utløpt. Last siden på nytt og prøv igjen.",
        "busy": "For mange forsøk. Vent litt og prøv igjen.",
        "other_lang": "English",
    },
    "en": {
        "title": "Key",
        "doors": "Doors",
        "time": "Time",
        "open": "Open",
        "not_yet": "Not open yet. The button appears when the time begins.",
        "open_now": "Open now",
        "ended": "The time is over.",
        "revoked": "This key has been withdrawn.",
        "unknown": "This key does not exist.",
        "opened": "The door is open until {until}.",
        "refused": "The door was not opened: {why}",
        "forbidden": "The form has expired. Reload the page and try again.",
        "busy": "Too many tries. Wait a little and try again.",
        "other_lang": "Norsk",
    },
}

_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:0;padding:1rem;max-width:32rem;"
    "margin-inline:auto;line-height:1.4}h1{font-size:1.4rem}"
    ".state{font-weight:600;padding:.5rem;border-radius:.4rem;background:#eef}"
    ".ok{background:#e6f4ea}.no{background:#fdecea}"
    "button{font-size:1.2rem;width:100%;padding:1rem;margin:.4rem 0;border-radius:.5rem;"
    "border:0;background:#1a5fb4;color:#fff}ul{padding-left:1.2rem}"
)


def language(request: Request) -> str:
    """Returns the page's language: `?lang=`, then the cookie, then `Accept-Language`."""
    asked = request.query_params.get("lang")
    if asked in LANGS:
        return asked
    cookie = request.cookies.get(LANG_COOKIE)
    if cookie in LANGS:
        return cookie
    for part in request.headers.get("accept-language", "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("en"):
            return "en"
        if tag.startswith(("nb", "no", "nn")):
            return "nb"
    return "nb"


async def form_fields(request: Request) -> dict[str, str]:
    """Returns the fields of a small urlencoded form (the first value of each)."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    parsed = parse_qs(body.decode("utf-8", "replace"), max_num_fields=10)
    return {key: values[0] for key, values in parsed.items() if values}


def _render(
    lang: str,
    token: str,
    page: KeyPage | None,
    csrf: str,
    *,
    notice: str = "",
    notice_ok: bool = False,
) -> str:
    t = _T[lang]
    other = "en" if lang == "nb" else "nb"
    parts = [
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width,initial-scale=1">',
        '<meta name="robots" content="noindex">',
        f"<title>{escape(t['title'])}</title><style>{_STYLE}</style></head><body>",
    ]
    if notice:
        css = "ok" if notice_ok else "no"
        parts.append(f'<p class="state {css}" role="status">{escape(notice)}</p>')
    if page is None:
        parts.append(f"<h1>{escape(t['unknown'])}</h1>")
    else:
        frame = format_time_frame(page.windows, page.timezone, lang)
        parts.append(f"<h1>{escape(page.place or t['title'])}</h1>")
        state_text = {
            "not_yet": t["not_yet"],
            "open": t["open_now"],
            "ended": t["ended"],
            "revoked": t["revoked"],
        }[page.state]
        css = "ok" if page.state == "open" else ("no" if page.state != "not_yet" else "")
        parts.append(f'<p class="state {css}">{escape(state_text)}</p>')
        parts.append(f"<p><strong>{escape(t['time'])}:</strong> {escape(frame)}</p>")
        parts.append(f"<h2>{escape(t['doors'])}</h2>")
        if page.state == "open":
            for door in page.doors:
                parts.append(
                    f'<form method="post" action="/k/{escape(token)}/open">'
                    f'<input type="hidden" name="csrf" value="{escape(csrf)}">'
                    f'<input type="hidden" name="door" value="{escape(door.id)}">'
                    f'<input type="hidden" name="lang" value="{lang}">'
                    f'<button type="submit">{escape(t["open"])}: {escape(door.name)}</button>'
                    "</form>"
                )
        else:
            items = "".join(f"<li>{escape(door.name)}</li>" for door in page.doors)
            parts.append(f"<ul>{items}</ul>")
    # Absolute links: after an Open the browser stands on `/k/{token}/open`.
    home = f"/k/{escape(token)}"
    parts.append(f'<p><a href="{home}?lang={other}">{escape(t["other_lang"])}</a></p>')
    parts.append("</body></html>")
    return "".join(parts)


def build_url_key_router(ctx: HubContext) -> APIRouter:
    """Returns the router of `/k/{token}` (no API key: the token is the key)."""
    router = APIRouter(include_in_schema=False)
    addresses = Throttle("hub_url_key_address", ADDRESS_RATE, ctx.clock)

    def respond(
        request: Request,
        lang: str,
        html_text: str,
        status: int,
        csrf: str,
        headers: Mapping[str, str] | None = None,
    ) -> HTMLResponse:
        response = HTMLResponse(html_text, status_code=status, headers=dict(headers or {}))
        secure = request.url.scheme == "https"
        response.set_cookie(
            CSRF_COOKIE, csrf, httponly=True, samesite="strict", secure=secure, path="/k/"
        )
        response.set_cookie(
            LANG_COOKIE, lang, samesite="lax", secure=secure, max_age=365 * 86400, path="/"
        )
        return response

    def throttled(request: Request, lang: str, csrf: str) -> HTMLResponse | None:
        client = request.client.host if request.client else "unknown"
        try:
            addresses.hit(client)
        except AppError as exc:
            return respond(request, lang, _render(lang, "", None, csrf, notice=_T[lang]["busy"]),
                           exc.status, csrf, exc.headers)  # fmt: skip
        return None

    def page(token: str) -> KeyPage | None:
        with ctx.database.transaction() as session:
            try:
                return url_keys.page_of(ctx, session, token)
            except AppError:
                return None

    @router.get("/k/{token}", response_class=HTMLResponse)
    def show(request: Request, token: KeyToken) -> HTMLResponse:
        """Shows the key's doors, time frame and state, with an Open button while valid."""
        lang = language(request)
        csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
        refused = throttled(request, lang, csrf)
        if refused is not None:
            return refused
        found = page(token)
        status = 200 if found is not None else 404
        return respond(request, lang, _render(lang, token, found, csrf), status, csrf)

    @router.post("/k/{token}/open", response_class=HTMLResponse)
    def open_door(
        request: Request,
        token: KeyToken,
        form: Annotated[dict[str, str], Depends(form_fields)],
    ) -> HTMLResponse:
        """Pulses one door of the key, if the form is genuine and the key valid there now."""
        lang = form.get("lang") if form.get("lang") in LANGS else language(request)
        lang = lang or "nb"
        cookie = request.cookies.get(CSRF_COOKIE, "")
        csrf = cookie or secrets.token_urlsafe(32)
        refused = throttled(request, lang, csrf)
        if refused is not None:
            return refused
        sent = form.get("csrf", "")
        if not cookie or not hmac.compare_digest(cookie.encode(), sent.encode()):
            # A form posted from another site (or an old one): nothing opens.
            html_text = _render(lang, token, page(token), csrf, notice=_T[lang]["forbidden"])
            return respond(request, lang, html_text, 403, csrf)
        try:
            with ctx.database.transaction() as session:
                plan = url_keys.plan_open(ctx, session, token, form.get("door", ""))
            until = pulse.send_pulse(ctx, plan)
        except AppError as exc:
            found = page(token)
            notice = _T[lang]["refused"].format(why=exc.message)
            if found is None:
                notice = ""
            return respond(request, lang, _render(lang, token, found, csrf, notice=notice),
                           exc.status, csrf, exc.headers)  # fmt: skip
        found = page(token)
        zone = ZoneInfo(found.timezone if found else ctx.settings.default_timezone)
        shown_until = f"{until.astimezone(zone):%H:%M:%S}"
        notice = _T[lang]["opened"].format(until=shown_until)
        html_text = _render(lang, token, found, csrf, notice=notice, notice_ok=True)
        return respond(request, lang, html_text, 200, csrf)

    return router
