"""The shared page machinery: languages, catalogs, CSRF, and the formats people read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.testclient import TestClient

from hallkey.core.pages import CSRF_COOKIE, Pages, check_csrf, negotiate_lang, read_form
from hallkey.core.pages.i18n import CORE_LOCALE_DIR, catalog_files

SRC = Path(__file__).parents[2] / "src" / "hallkey"
KEYWORDS = {
    "_": None,
    "gettext": (2,),
    "ngettext": (1, 2),
    "gettext_request": (2,),
    "text": (2,),
}


def _catalog_ids(locale_dir: Path) -> set[str]:
    found: set[str] = set()
    for po_file in catalog_files("nb", (locale_dir,)):
        with po_file.open("rb") as handle:
            found |= {
                m.id if isinstance(m.id, str) else m.id[0]
                for m in read_po(handle)
                if m.id and (m.string if isinstance(m.string, str) else all(m.string or ()))
            }
    return found


def _extracted(folder: Path) -> set[str]:
    method_map = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
    found = set()
    for _, _, message, _, _ in extract_from_dir(folder, method_map, keywords=KEYWORDS):
        found.add(message if isinstance(message, str) else message[0])
    return found


@pytest.mark.parametrize("context", ["core/pages", "hub", "booking"])
def test_catalogs__every_string_of_the_pages__has_its_norwegian_translation(context: str) -> None:
    folder = SRC / context
    translated = _catalog_ids(CORE_LOCALE_DIR) | _catalog_ids(
        (folder / "locale") if context != "core/pages" else CORE_LOCALE_DIR
    )
    strings = _extracted(folder)
    assert strings, "no strings found: the extraction itself is broken"
    assert sorted(strings - translated) == []


@pytest.mark.parametrize("context", ["hub", "booking"])
def test_catalogs__one_string__has_one_translation_across_a_contexts_files(context: str) -> None:
    # The files of a context are merged, the last one winning: a string translated two ways
    # would show the other file's words on a page (a status word, a button).
    files = catalog_files("nb", (CORE_LOCALE_DIR, SRC / context / "locale"))
    first: dict[str, tuple[str, object]] = {}
    differing = []
    for po_file in files:
        with po_file.open("rb") as handle:
            for message in read_po(handle):
                if not message.id:
                    continue
                key = message.id if isinstance(message.id, str) else message.id[0]
                seen = first.setdefault(key, (po_file.name, message.string))
                if seen[1] != message.string:
                    differing.append((key, seen, (po_file.name, message.string)))
    assert differing == []


def _app(tmp_path: Path) -> FastAPI:
    (tmp_path / "t.html").write_text(
        '{% extends "base.html" %}{% block content %}'
        '<p id="when">{{ at|interval(end, "Europe/Oslo") }}</p>'
        '<p id="money">{{ 12345|money }}</p><p id="wait">{{ wait|duration }}</p>'
        "<p id=\"hi\">{{ _('Language') }}</p>{% endblock %}"
    )
    pages = Pages(tmp_path, None, "/static")
    app = FastAPI()

    @app.get("/t", response_class=HTMLResponse)
    def show(request: Request, at: str, end: str) -> HTMLResponse:
        return pages.render(
            request,
            "t.html",
            at=datetime.fromisoformat(at),
            end=datetime.fromisoformat(end),
            wait=timedelta(minutes=90),
        )

    @app.post("/f")
    async def post(request: Request) -> dict[str, bool]:
        return {"ok": check_csrf(request, await read_form(request))}

    return app


def test_page__dst_days__times_read_in_oslo_wall_time_in_both_languages(tmp_path: Path) -> None:
    client = TestClient(_app(tmp_path))
    # 2027-03-28: clocks jump 02:00 → 03:00; 18:00 local is 16:00 UTC after the jump.
    params = {"at": "2027-03-28T16:00:00+00:00", "end": "2027-03-28T17:30:00+00:00"}
    nb = client.get("/t", params={**params, "lang": "nb"}).text
    assert "søn. 28. mars 18:00\u201319:30" in nb
    assert "123,45" in nb and "kr" in nb
    assert "Språk" in nb
    assert "1 time og 30 minutter" in nb
    en = client.get("/t", params={**params, "lang": "en"}).text
    assert "Sun 28 Mar 18:00\u201319:30" in en
    assert "1 hour and 30 minutes" in en
    assert "NOK" in en and "123.45" in en
    # 2027-10-31: 02:00-03:00 happens twice; a frame across it is read on one day.
    autumn = {"at": "2027-10-31T00:30:00+00:00", "end": "2027-10-31T01:30:00+00:00"}
    assert "31. okt. 02:30\u201302:30" in client.get("/t", params={**autumn, "lang": "nb"}).text


def test_page__headers__csp_without_inline_script_and_cookies_for_language_and_csrf(
    tmp_path: Path,
) -> None:
    client = TestClient(_app(tmp_path))
    response = client.get(
        "/t", params={"at": datetime.now(UTC).isoformat(), "end": datetime.now(UTC).isoformat()}
    )
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    cookie = response.headers.get_list("set-cookie")
    assert any(
        c.startswith(f"{CSRF_COOKIE}=") and "HttpOnly" in c and "SameSite=strict" in c
        for c in cookie
    )
    assert '<html lang="nb">' in response.text


def test_csrf__form_must_repeat_the_cookie(tmp_path: Path) -> None:
    client = TestClient(_app(tmp_path))
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    client.cookies.set(CSRF_COOKIE, "a" * 43)
    assert client.post("/f", content="csrf=" + "a" * 43, headers=form).json() == {"ok": True}
    assert client.post("/f", content="csrf=" + "b" * 43, headers=form).json() == {"ok": False}
    assert client.post("/f", content="other=1", headers=form).json() == {"ok": False}
    # JSON is not a form: nothing is read from it.
    assert client.post("/f", json={"csrf": "a" * 43}).json() == {"ok": False}
    too_many = "&".join(f"f{i}=1" for i in range(60)) + "&csrf=" + "a" * 43
    assert client.post("/f", content=too_many, headers=form).json() == {"ok": False}


@pytest.mark.parametrize(
    ("query", "cookie", "header", "expected"),
    [
        ("en", None, "nb-NO", "en"),
        (None, "en", "nb", "en"),
        (None, None, "en-US,en;q=0.9", "en"),
        (None, None, "nn-NO,en;q=0.5", "nb"),
        (None, None, "de-DE", "nb"),
        ("xx", "yy", "", "nb"),
    ],
)
def test_negotiate_lang__query_then_cookie_then_browser_then_bokmal(
    query: str | None, cookie: str | None, header: str, expected: str
) -> None:
    app = FastAPI()

    @app.get("/")
    def lang(request: Request) -> str:
        return negotiate_lang(request)

    client = TestClient(app)
    if cookie:
        client.cookies.set("lang", cookie)
    params = {"lang": query} if query else {}
    assert client.get("/", params=params, headers={"accept-language": header}).json() == expected
