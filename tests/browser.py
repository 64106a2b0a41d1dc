"""A real browser for the page tests: Playwright driving Debian's Chromium.

Playwright's own browser download cannot work on these machines, so the tests launch the
`chromium` package at /usr/bin/chromium (`.ci/run` installs it). Without it the browser tests
are skipped — unless HALLKEY_TEST_REQUIRE_BROWSER is set (as CI does), when they fail.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    ViewportSize,
    sync_playwright,
)

CHROMIUM = Path(os.environ.get("HALLKEY_TEST_CHROMIUM", "/usr/bin/chromium"))
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Yields one headless Chromium for the test session (of this xdist worker)."""
    if not CHROMIUM.exists():
        if os.environ.get("HALLKEY_TEST_REQUIRE_BROWSER"):
            pytest.fail(f"no browser at {CHROMIUM} (HALLKEY_TEST_REQUIRE_BROWSER is set)")
        pytest.skip(f"no browser at {CHROMIUM}")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    """Yields a fresh page the size of a phone (a Norwegian one), with its own cookies, failing
    on page errors."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="nb-NO")
    yield from _page(context)


@pytest.fixture
def desktop(browser: Browser) -> Iterator[Page]:
    """Yields a fresh desktop-sized page with its own cookies, failing on page errors."""
    yield from _page(browser.new_context(viewport=DESKTOP, locale="nb-NO"))


def _page(context: BrowserContext) -> Iterator[Page]:
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # A page answered with its status (a form sent back with 422, a 409) is how the pages
    # say "no": Chromium logs that as a failed load, which is no error of the page itself.
    documents: set[str] = set()
    page.on(
        "response",
        lambda response: (
            documents.add(response.url) if response.request.resource_type == "document" else None
        ),
    )

    def console(message: ConsoleMessage) -> None:
        # A Content-Security-Policy violation shows as a console error: none is allowed.
        if message.type != "error":
            return
        if message.text.startswith("Failed to load resource") and (
            message.location.get("url") in documents
        ):
            return
        errors.append(message.text)

    page.on("console", console)
    try:
        yield page
    finally:
        context.close()
    assert errors == [], errors
