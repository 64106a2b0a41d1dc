"""Screenshots of the pages: `make screenshots` (or `python -m tests.screenshots [OUT_DIR]`).

Starts `hallkey serve --demo` on a free port with a fresh data folder, signs in where a page
needs it (staff and the hub operator from demo.json; the demo customer by the sign-in link
that lands in the booking outbox folder), and writes one PNG per page, language and device
to docs/screenshots/ (e.g. `front-nb-phone.png`). Not a test: `make test` does not run it.

Add a page by adding a row to PAGES. A path may name what the demo has to make first:
`{resource}` (the 24/7 hall), `{confirmation}` (a booking made through the public form, as a
guest; the confirmation's address), `{reservation}` (that booking's id), `{url_key}` (the
path of a URL key booked through the API on the demo's URL-key room).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import httpx
from playwright.sync_api import Browser, BrowserContext, Page, StorageState, sync_playwright

from tests.browser import CHROMIUM, DESKTOP, PHONE
from tests.servers import free_port

Who = Literal["guest", "customer", "staff", "hub_admin"]

# name (file name prefix), path, who looks at it.
PAGES: list[tuple[str, str, Who]] = [
    ("confirmation", "{confirmation}", "guest"),  # first: the week then shows its booking
    ("front", "/", "guest"),
    ("resource", "/resources/{resource}", "guest"),
    ("login", "/login", "guest"),
    ("my", "/my", "customer"),
    ("admin-requests", "/admin/requests", "staff"),
    ("admin-today", "/admin/today", "staff"),
    ("admin-reservation", "/admin/reservations/{reservation}", "staff"),
    ("hub-admin", "/hub/admin", "hub_admin"),
    ("url-key", "{url_key}", "guest"),
]
LANGS = ("nb", "en")
BROWSER_LOCALES = {"nb": "nb-NO", "en": "en-GB"}  # date inputs show the page's language
DEVICES = {"desktop": DESKTOP, "phone": PHONE}
OUT = Path(__file__).parents[1] / "docs" / "screenshots"
HALLKEY = Path(sys.executable).parent / "hallkey"


@contextmanager
def demo_server() -> Iterator[tuple[str, Path, dict[str, Any]]]:
    """Yields the base URL, data folder and demo.json of a fresh `hallkey serve --demo`."""
    with tempfile.TemporaryDirectory(prefix="hallkey-screens-") as folder:
        data = Path(folder)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log = (data / "serve.log").open("wb")
        command = [str(HALLKEY), "serve", "--demo", "--data-dir", str(data), "--port", str(port)]
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 120
            while not _healthy(base):
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"hallkey serve did not start; see {data / 'serve.log'}")
                time.sleep(0.3)
            yield base, data, json.loads((data / "demo.json").read_text())
        finally:
            server.terminate()
            server.wait(timeout=30)
            log.close()


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _submit(page: Page, action: str, fields: dict[str, str]) -> None:
    form = page.locator(f'form[action="{action}"]')
    for name, value in fields.items():
        form.locator(f'input[name="{name}"]').fill(value)
    form.locator('button[type="submit"]').first.click()
    page.wait_for_load_state()


def sign_in(page: Page, who: Who, base: str, data: Path, demo: dict[str, Any]) -> None:
    """Signs the page's browser context in as `who` (a guest stays as they are)."""
    if who == "staff":
        page.goto(f"{base}/login")
        login = {"username": demo["admin"]["username"], "password": demo["admin"]["password"]}
        _submit(page, "/login/staff", login)
    elif who == "hub_admin":
        page.goto(f"{base}/hub/admin/login")
        login = demo["hub_admin"]
        page.locator('input[name="username"]').fill(login["username"])
        page.locator('input[name="password"]').fill(login["password"])
        page.locator('form button[type="submit"]').first.click()
        page.wait_for_load_state()
    elif who == "customer":
        outbox = data / "outbox" / "booking"
        before = set(outbox.glob("*")) if outbox.exists() else set()
        page.goto(f"{base}/login?for=customer")
        _submit(page, "/login/email", {"email": demo["customer"]["email"]})
        token = _sign_in_token(outbox, before)
        page.goto(f"{base}/login?token={token}")
        _submit(page, "/login/link", {})


def _sign_in_token(outbox: Path, before: set[Path]) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for path in sorted(set(outbox.glob("*")) - before) if outbox.exists() else []:
            found = re.search(r"/login\?token=([A-Za-z0-9_-]+)", path.read_text(errors="replace"))
            if found:
                return found.group(1)
        time.sleep(0.3)
    raise RuntimeError("no sign-in link reached the booking outbox")


class Placeholders:
    """What the PAGES' paths name, made once on first use."""

    def __init__(self, browser: Browser, base: str, demo: dict[str, Any]) -> None:
        self.browser, self.base, self.demo = browser, base, demo
        self.made: dict[str, str] = {}
        self.makers: dict[str, Callable[[], str]] = {
            "resource": lambda: str(demo["resources"][0]["id"]),
            "confirmation": self._confirmation,
            "reservation": lambda: self.get("confirmation").split("/")[2],
            "url_key": self._url_key,
        }

    def get(self, name: str) -> str:
        """Returns the value of a placeholder, making it first if need be."""
        if name not in self.made:
            self.made[name] = self.makers[name]()
        return self.made[name]

    def fill(self, path: str) -> str:
        """Returns `path` with its placeholders filled in."""
        return re.sub(r"\{(\w+)\}", lambda m: self.get(m.group(1)), path)

    def _confirmation(self) -> str:
        context = self.browser.new_context(viewport=DESKTOP)
        page = context.new_page()
        day = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
        page.goto(f"{self.base}/resources/{self.get('resource')}?start={day}T18:00")
        fields = {
            "end": f"{day}T20:00",
            "name": "Kari Nordmann",
            "phone": "912 34 567",
            "email": self.demo["customer"]["email"],
        }
        form = page.locator('form[action$="/book"]')
        for name, value in fields.items():
            form.locator(f'input[name="{name}"]').fill(value)
        form.locator('button[value="book"]').click()
        page.wait_for_url(re.compile(r"/confirmation\?t="))
        path = page.url.removeprefix(self.base)
        context.close()
        return path

    def _url_key(self) -> str:
        room = next(r for r in self.demo["resources"] if "URL" in r["name"])
        start = datetime.now(UTC) + timedelta(minutes=5)
        body = {
            "resource_id": room["id"],
            "start": start.isoformat(),
            "end": (start + timedelta(hours=1)).isoformat(),
            "customer": {"name": "Ola", "phone": "+4791234568", "email": "ola@example.org"},
        }
        headers = {"Authorization": f"Bearer {self.demo['booking_api_token']}"}
        with httpx.Client(base_url=self.base, headers=headers, timeout=10) as api:
            made = api.post("/api/v1/reservations", json=body).json()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                access = api.get(f"/api/v1/reservations/{made['id']}").json()["access"]
                if access.get("url"):
                    return "/k/" + str(access["url"]).rsplit("/k/", 1)[1]
                time.sleep(0.5)
        raise RuntimeError("the URL key was not granted in time")


def shoot(out: Path = OUT) -> list[Path]:
    """Writes every page's screenshots; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    failed: list[str] = []
    with demo_server() as (base, data, demo), sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        places = Placeholders(browser, base, demo)
        contexts: dict[tuple[Who, str, str], BrowserContext] = {}
        signed_in: dict[Who, StorageState] = {}
        for name, path, who in PAGES:
            for device, viewport in DEVICES.items():
                for lang in LANGS:
                    key = (who, device, lang)
                    if key not in contexts:
                        # Signed in once per kind of visitor (sign-in links are throttled per
                        # address); the other contexts start from that one's cookies.
                        contexts[key] = browser.new_context(
                            viewport=viewport,
                            is_mobile=device == "phone",
                            has_touch=device == "phone",
                            locale=BROWSER_LOCALES[lang],
                            storage_state=signed_in.get(who),
                        )
                        first = contexts[key].new_page()
                        if who not in signed_in:
                            sign_in(first, who, base, data, demo)
                            signed_in[who] = contexts[key].storage_state()
                    page = contexts[key].pages[0]
                    url = places.fill(path)
                    url += ("&" if "?" in url else "?") + f"lang={lang}"
                    response = page.goto(base + url)
                    if response is None or response.status != 200:
                        failed.append(f"{url}: {response.status if response else 'no answer'}")
                    target = out / f"{name}-{lang}-{device}.png"
                    page.screenshot(path=str(target), full_page=True)
                    written.append(target)
        browser.close()
    for line in failed:
        print(f"not 200: {line}", file=sys.stderr)
    if failed:
        raise SystemExit(1)
    return written


if __name__ == "__main__":
    files = shoot(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
    print(f"{len(files)} screenshots in {files[0].parent if files else OUT}")
