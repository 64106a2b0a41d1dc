"""The page of a URL key, `/k/{token}`: server-rendered, mobile first, no JavaScript.

Norwegian bokmål by default, English with `?lang=en` or the browser's `Accept-Language`,
remembered in a cookie (`hallkey.core.pages`). The "Open" form is protected against cross-site
requests by a double-submit token, and every request is throttled per source address, so tokens
cannot be guessed at speed. Before the key opens, the page says how long is left and reloads
itself when the time comes (a meta refresh: no script).
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse

from hallkey.core.errors import AppError
from hallkey.core.pages import LANGS, Pages, check_csrf, negotiate_lang, read_form
from hallkey.core.throttle import Rate, Throttle
from hallkey.hub import pulse, url_keys
from hallkey.hub.context import HubContext
from hallkey.hub.url_keys import KeyPage

log = logging.getLogger(__name__)

ADDRESS_RATE = Rate(limit=30, per_seconds=60)
"""Requests to URL-key pages per source address: a guest needs a few, a guesser thousands."""
MAX_REFRESH_SECONDS = 300
"""How often a page waiting for its key to open reloads itself at most."""
OPENED_UNTIL = re.compile(r"[0-2]\d:[0-5]\d:[0-5]\d")
"""The `?opened=` of the page shown after an Open: a time, and nothing else is echoed."""
KeyToken = Annotated[str, PathParam(max_length=64)]

HERE = Path(__file__).parent
PAGES = Pages(HERE / "templates", HERE / "locale", "/hub/static")


def _opens_in(page: KeyPage | None, now: datetime) -> tuple[timedelta | None, int]:
    """Returns how long until the key next opens and when the page should reload."""
    if page is None or page.state != "not_yet":
        return None, 0
    start = min(w.valid_from for w in page.windows if w.valid_from > now)
    wait = start - now
    return wait, max(1, min(MAX_REFRESH_SECONDS, int(wait.total_seconds()) + 1))


def build_url_key_router(ctx: HubContext) -> APIRouter:
    """Returns the router of `/k/{token}` (no API key: the token is the key)."""
    router = APIRouter(include_in_schema=False)
    addresses = Throttle("hub_url_key_address", ADDRESS_RATE, ctx.clock)

    def render(
        request: Request,
        token: str,
        found: KeyPage | None,
        *,
        status: int = 200,
        lang: str | None = None,
        notice: str = "",
        notice_ok: bool = False,
        headers: dict[str, str] | None = None,
    ) -> HTMLResponse:
        opens_in, refresh = _opens_in(found, ctx.clock.now())
        return PAGES.render(
            request,
            "url_key.html",
            status=status,
            lang=lang,
            headers=headers,
            page=found,
            token=token,
            opens_in=opens_in,
            refresh_seconds=refresh,
            notice=notice,
            notice_ok=notice_ok,
            # Absolute: after an Open the browser stands on `/k/{token}/open`.
            path=f"/k/{token}" if found is not None else request.url.path,
        )

    def throttled(request: Request, lang: str) -> HTMLResponse | None:
        client = request.client.host if request.client else "unknown"
        try:
            addresses.hit(client)
        except AppError as exc:
            busy = PAGES.gettext(lang, "Too many tries. Wait a little and try again.")
            return render(request, "", None, status=exc.status, lang=lang, notice=busy,
                          headers=dict(exc.headers or {}))  # fmt: skip
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
        lang = negotiate_lang(request)
        refused = throttled(request, lang)
        if refused is not None:
            return refused
        found = page(token)
        opened = request.query_params.get("opened", "")
        notice = ""
        if found is not None and OPENED_UNTIL.fullmatch(opened):
            notice = PAGES.gettext(lang, "The door is open until %(until)s.") % {"until": opened}
        return render(request, token, found, status=200 if found else 404, lang=lang,
                      notice=notice, notice_ok=True)  # fmt: skip

    @router.post("/k/{token}/open", response_model=None)
    def open_door(
        request: Request,
        token: KeyToken,
        form: Annotated[dict[str, str], Depends(read_form)],
    ) -> Response:
        """Pulses one door of the key, if the form is genuine and the key valid there now."""
        lang = form["lang"] if form.get("lang") in LANGS else negotiate_lang(request)
        refused = throttled(request, lang)
        if refused is not None:
            return refused
        if not check_csrf(request, form):
            # A form posted from another site (or an old one): nothing opens.
            expired = PAGES.gettext(lang, "The form has expired. Reload the page and try again.")
            return render(request, token, page(token), status=403, lang=lang, notice=expired)
        try:
            with ctx.database.transaction() as session:
                plan = url_keys.plan_open(ctx, session, token, form.get("door", ""))
            until = pulse.send_pulse(ctx, plan)
        except AppError as exc:
            found = page(token)
            why = PAGES.gettext(lang, "The door was not opened: %(why)s") % {"why": exc.message}
            return render(request, token, found, status=exc.status, lang=lang,
                          notice=why if found else "", headers=dict(exc.headers or {}))  # fmt: skip
        found = page(token)
        zone_name = found.timezone if found else ctx.settings.default_timezone
        shown = f"{until.astimezone(ZoneInfo(zone_name)):%H:%M:%S}"
        # Post/Redirect/Get: reloading the answer must not press Open again.
        return RedirectResponse(f"/k/{token}?opened={shown}&lang={lang}", status_code=303)

    return router
