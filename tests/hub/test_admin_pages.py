"""The hub operator's pages: sign-in (throttled, one answer for every mistake), doors and
their health, clients' keys added and revoked through forms, and nothing personal shown."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient

from hallkey.hub import create_admin
from hallkey.hub.admin_pages import SESSION_COOKIE
from tests.hub.conftest import EMAIL, PHONE, HubWorld

PASSWORD = "correct horse battery staple"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def admin(hub: HubWorld) -> HubWorld:
    with hub.ctx.database.transaction() as session:
        create_admin(hub.ctx, session, username="drift", password=PASSWORD)
    return hub


def _csrf(page: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def _sign_in(http: TestClient, password: str = PASSWORD, user: str = "drift") -> httpx.Response:
    csrf = _csrf(http.get("/hub/admin/login"))
    body = f"csrf={csrf}&username={user}&password={password.replace(' ', '+')}&next=/hub/admin"
    response: httpx.Response = http.post(
        "/hub/admin/login", content=body, headers=FORM, follow_redirects=False
    )
    return response


def test_admin_pages__not_signed_in__every_page_leads_to_the_sign_in(admin: HubWorld) -> None:
    for path in ["", "/clients", "/sites", "/grants", "/messages", "/audit"]:
        response = admin.http.get(f"/hub/admin{path}", follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/hub/admin/login?next=")
    # A client's API key is not a way in.
    assert (
        admin.http.get("/hub/admin", headers=admin.headers(), follow_redirects=False).status_code
        == 303
    )


def test_admin_sign_in__right_password__session_cookie_httponly_lax_and_the_doors_shown(
    admin: HubWorld,
) -> None:
    signed_in = _sign_in(admin.http)

    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/hub/admin"
    cookie = next(
        c for c in signed_in.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE)
    )
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/hub/admin" in cookie
    page = admin.http.get("/hub/admin")
    assert page.status_code == 200
    assert "door-a" in page.text and "Hovedinngang" in page.text and "door-x" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_admin_sign_in__wrong_password_or_unknown_user__the_same_answer_then_throttled(
    admin: HubWorld,
) -> None:
    wrong = _sign_in(admin.http, password="not the password")
    unknown = _sign_in(admin.http, user="nobody")

    assert wrong.status_code == unknown.status_code == 401
    assert "Feil brukernavn eller passord." in wrong.text and "Feil brukernavn" in unknown.text
    assert SESSION_COOKIE not in str(wrong.headers.get_list("set-cookie"))
    answers = [_sign_in(admin.http, password=f"guess {n}").status_code for n in range(10)]
    assert 429 in answers
    assert _sign_in(admin.http).status_code == 429  # even the right one, until the wait is over


def test_admin_sign_in__without_the_form_token__refused(admin: HubWorld) -> None:
    body = f"username=drift&password={PASSWORD}"
    response = admin.http.post(
        "/hub/admin/login", content=body, headers=FORM, follow_redirects=False
    )
    assert response.status_code == 403
    assert admin.http.get("/hub/admin", follow_redirects=False).status_code == 303


def test_admin_sign_in__next__never_leads_off_the_admin_pages(admin: HubWorld) -> None:
    csrf = _csrf(admin.http.get("/hub/admin/login"))
    body = f"csrf={csrf}&username=drift&password={PASSWORD}&next=https://evil.example/"
    response = admin.http.post(
        "/hub/admin/login", content=body, headers=FORM, follow_redirects=False
    )
    assert response.headers["location"] == "/hub/admin"


def test_admin_clients__add_a_key_shown_once__it_works__then_revoke_the_old(
    admin: HubWorld,
) -> None:
    _sign_in(admin.http)
    admin.clock.advance(timedelta(minutes=1))  # the new key is the newer
    page = admin.http.get("/hub/admin/clients")
    csrf = _csrf(page)
    added = admin.http.post(
        f"/hub/admin/clients/{admin.client_id}/keys", content=f"csrf={csrf}&name=2027", headers=FORM
    )
    new_key = re.search(r"(hkh_[A-Za-z0-9]+\.[A-Za-z0-9_-]+)", added.text)
    assert added.status_code == 200 and new_key
    assert admin.get("doors", key=new_key.group(1)).status_code == 200
    assert new_key.group(1) not in admin.http.get("/hub/admin/clients").text  # shown once

    # The old key's form is listed after the new one's; revoke the old (first key).
    forms = re.findall(rf'action="(/hub/admin/clients/{admin.client_id}/keys/([^"/]+)/revoke)"',
                       admin.http.get("/hub/admin/clients").text)  # fmt: skip
    old_form = forms[-1][0]
    done = admin.http.post(old_form, content=f"csrf={csrf}", headers=FORM)
    assert done.status_code == 200 and "Nøkkelen er trukket tilbake." in done.text
    assert admin.get("doors").status_code == 401  # the old key
    assert admin.get("doors", key=new_key.group(1)).status_code == 200
    # The last live key cannot go.
    last = admin.http.post(forms[0][0], content=f"csrf={csrf}", headers=FORM)
    assert last.status_code == 409


def test_admin_forms__without_the_token__change_nothing(admin: HubWorld) -> None:
    _sign_in(admin.http)
    refused = admin.http.post(
        f"/hub/admin/clients/{admin.client_id}/keys", content="name=x", headers=FORM
    )
    assert refused.status_code == 403
    assert "hkh_" not in re.sub(r"hkh_[a-f0-9]+\.…", "", refused.text)


def test_admin_pages__grants_messages_audit__show_states_never_phone_or_email(
    admin: HubWorld,
) -> None:
    admin.grant("rsv_admin", deliver_via=["sms", "email"])
    admin.run_jobs()
    _sign_in(admin.http)

    grants = admin.http.get("/hub/admin/grants", params={"ref": "rsv_admin"}).text
    messages = admin.http.get("/hub/admin/messages").text
    audit = admin.http.get("/hub/admin/audit", params={"ref": "rsv_admin"}).text

    assert "rsv_admin" in grants and "programmed" in grants
    assert "rsv_admin" in messages and "sent" in messages
    assert "rsv_admin" in audit
    for text in (grants, messages, audit):
        assert PHONE not in text and EMAIL not in text


def test_admin_sign_out__ends_the_session(admin: HubWorld) -> None:
    _sign_in(admin.http)
    page = admin.http.get("/hub/admin")
    admin.http.post("/hub/admin/logout", content=f"csrf={_csrf(page)}", headers=FORM)
    assert admin.http.get("/hub/admin", follow_redirects=False).status_code == 303
