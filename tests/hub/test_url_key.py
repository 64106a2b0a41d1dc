"""URL keys at the hub: the link, its page `/k/{token}` and its Open button."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import httpx
from sqlalchemy import select

from hallkey.hub.models import AuditEntry, Grant
from tests.hub.conftest import END, START, HubWorld


def _url_key(hub: HubWorld, ref: str = "rsv_one", **overrides: object) -> str:
    grant = hub.grant(ref, credential="url_key", deliver_via=[], **overrides)
    url = str(grant["url"])
    assert grant["code"] is None
    hub.run_jobs()
    return url


def _path(url: str) -> str:
    return "/k/" + url.rsplit("/k/", 1)[1]


def _open(hub: HubWorld, url: str, door: str = "door-a", **headers: str) -> httpx.Response:
    """Loads the page (for its CSRF cookie and form) and presses Open for `door`. Without a
    button on the page the form is posted anyway with the page's CSRF cookie (as a page loaded
    earlier would), so that a refusal is the key's, not the CSRF check's."""
    page = hub.http.get(_path(url), headers=headers)
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    csrf = match.group(1) if match else hub.http.cookies.get("hk_csrf", "")
    assert csrf, "the page set no CSRF cookie"
    # Where the page's form posts to (the button exists only while the key is valid).
    action = re.search(r'<form method="post" action="([^"]+)"', page.text)
    response: httpx.Response = hub.http.post(
        action.group(1) if action else _path(url) + "/open",
        content=f"csrf={csrf}&door={door}",
        headers={"Content-Type": "application/x-www-form-urlencoded", **headers},
    )
    return response


def _pulses(hub: HubWorld, door: str = "door-a") -> list[str | None]:
    return [ref for _, ref in hub.ctx.connectors.memory.door(door).pulses]


def test_url_key__granted__link_holds_256_bits_and_the_hub_stores_only_its_digest(
    hub: HubWorld,
) -> None:
    url = _url_key(hub)

    token = url.rsplit("/k/", 1)[1]
    assert url.startswith(hub.ctx.settings.base_url)
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)
    with hub.ctx.database.transaction() as session:
        grant = session.scalars(select(Grant)).one()
        stored = [str(v) for v in vars(grant).values()]
        assert grant.key_digest == hashlib.sha256(token.encode()).hexdigest()
        assert grant.code_sealed is None and grant.key_sealed is None
    assert not any(token in value for value in stored)
    assert hub.get("grants/rsv_one").json()["url"] == url
    assert hub.get("grants/rsv_one").json()["doors"][0]["state"] == "programmed"


def test_url_key_page__before_the_window__says_not_yet_and_has_no_button(
    hub: HubWorld,
) -> None:
    url = _url_key(hub)

    page = hub.http.get(_path(url))

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Ikke åpen ennå" in page.text
    assert "<form" not in page.text
    assert "Hovedinngang" in page.text and "18:00" in page.text  # Oslo time
    refused = _open(hub, url)
    assert refused.status_code == 403 and "the grant is not valid now" in refused.text
    assert _pulses(hub) == []


def test_url_key_page__inside_the_window__open_pulses_the_door_and_is_audited(
    hub: HubWorld,
) -> None:
    url = _url_key(hub)
    hub.clock.set(START + timedelta(minutes=5))

    page = hub.http.get(_path(url))
    response = _open(hub, url)

    assert "Åpne: Hovedinngang" in page.text
    assert f'action="{_path(url)}/open"' in page.text
    assert response.status_code == 200, response.text
    assert "Døren er åpen til" in response.text
    # From /open, back to the page (in the other language, its notice kept).
    assert re.search(rf'href="{re.escape(_path(url))}\?[^"]*lang=en"', response.text)
    assert _pulses(hub) == ["rsv_one"]
    with hub.ctx.database.transaction() as session:
        audit = session.execute(
            select(AuditEntry.ref, AuditEntry.door_id, AuditEntry.outcome).where(
                AuditEntry.action == "pulse"
            )
        ).all()
    assert [tuple(row) for row in audit] == [("rsv_one", "door-a", "ok")]


def test_url_key_open__without_the_page_cookie__is_403_and_opens_nothing(
    hub: HubWorld,
) -> None:
    url = _url_key(hub)
    hub.clock.set(START + timedelta(minutes=5))
    page = hub.http.get(_path(url))
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    hub.http.cookies.clear()  # a form posted from another site carries no cookie of ours

    response = hub.http.post(
        _path(url) + "/open",
        content=f"csrf={csrf.group(1)}&door=door-a",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert response.status_code == 403
    assert _pulses(hub) == []


def test_url_key_open__another_door_or_after_the_window__opens_nothing(hub: HubWorld) -> None:
    url = _url_key(hub)
    hub.clock.set(START + timedelta(minutes=5))

    assert _open(hub, url, door="door-b").status_code == 403
    assert _open(hub, url, door="door-x").status_code == 403
    hub.clock.set(END)
    ended = hub.http.get(_path(url))
    assert "Tidsrommet er over" in ended.text and "<form" not in ended.text
    refused = _open(hub, url)
    assert refused.status_code == 403 and "the grant is not valid now" in refused.text
    assert _pulses(hub) == [] and _pulses(hub, "door-b") == []


def test_url_key__revoked__page_says_so_and_open_is_refused(hub: HubWorld) -> None:
    url = _url_key(hub)
    hub.clock.set(START + timedelta(minutes=5))
    page = hub.http.get(_path(url))
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None

    assert hub.post("RevokeAccess", {"ref": "rsv_one"}).status_code == 200
    response = hub.http.post(
        _path(url) + "/open",
        content=f"csrf={csrf.group(1)}&door=door-a",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert response.status_code == 403
    assert "trukket tilbake" in hub.http.get(_path(url)).text
    assert _pulses(hub) == []


def test_url_key_page__english__by_query_or_browser_language_and_remembered(
    hub: HubWorld,
) -> None:
    url = _url_key(hub)

    by_browser = hub.http.get(_path(url), headers={"Accept-Language": "en-GB,en;q=0.8"})
    hub.http.cookies.clear()
    by_query = hub.http.get(_path(url) + "?lang=en")
    remembered = hub.http.get(_path(url))

    assert "Not open yet" in by_browser.text and 'lang="en"' in by_browser.text
    assert "Not open yet" in by_query.text
    assert "Not open yet" in remembered.text


def test_url_key_page__unknown_or_guessed_tokens__404_then_429_per_address(
    hub: HubWorld,
) -> None:
    statuses = [hub.http.get(f"/k/{'A' * 42}{i % 10}").status_code for i in range(31)]

    assert statuses[:30] == [404] * 30
    assert statuses[30] == 429


def test_url_key__message__holds_the_link_not_a_code(hub: HubWorld) -> None:
    grant = hub.grant(credential="url_key")
    hub.run_jobs()

    messages = hub.messages()

    assert len(messages) == 2
    assert all(grant["url"] in text for text in messages)
    assert all("kode" not in text.lower() for text in messages)


def test_url_key__on_a_door_that_cannot_pulse__is_refused(hub: HubWorld) -> None:
    from hallkey.hub import create_door, create_site

    with hub.ctx.database.transaction() as session:
        site_id, _ = create_site(
            hub.ctx, session, client_id=hub.client_id, name="Kodelås", connector="memory",
            config={"capabilities": "store_credentials"},
        )  # fmt: skip
        create_door(hub.ctx, session, site_id=site_id, name="Bod", door_id="door-c")
    hub.ctx.connectors.memory.add_door("door-c")

    response = hub.post("GrantAccess", hub.grant_body(credential="url_key", doors=["door-c"]))

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "unsupported_by_door"
