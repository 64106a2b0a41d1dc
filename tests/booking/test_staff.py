"""Staff accounts, sign-in sessions and personal tokens through the API."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select

from hallkey.booking import issue_operator_key
from hallkey.booking.models import StaffSession, StaffUser
from tests.booking.conftest import Booking, reservation_body
from tests.booking.staff_world import PASSWORD, Caller, World, make_world, personal_token, sign_in


@pytest.fixture
def world(booking: Booking) -> World:
    return make_world(booking)


def _admin(world: World) -> Caller:
    return world.callers["admin session"]


def test_staff__admin_creates_changes_resets_and_disables__with_fields_named_on_bad_input(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    admin = _admin(world)
    caplog.set_level(logging.DEBUG)
    made = world.request(
        "POST",
        "/api/v1/staff",
        admin,
        json={
            "username": "Vaktmester",
            "role": "caretaker",
            "password": PASSWORD,
            "venue_ids": [world.venue_b],
        },
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["username"] == "vaktmester" and body["venue_ids"] == [world.venue_b]
    assert "password" not in made.text and PASSWORD not in made.text
    staff_id = body["id"]

    bad = [
        ({"username": "x1", "role": "caretaker", "password": PASSWORD}, 422, "venue_ids"),
        (
            {"username": "x2", "role": "admin", "password": PASSWORD, "venue_ids": [world.venue_a]},
            422,
            "venue_ids",
        ),
        (
            {
                "username": "x3",
                "role": "caretaker",
                "password": PASSWORD,
                "venue_ids": ["ven_nope"],
            },
            422,
            "venue_ids",
        ),
        ({"username": "x4", "role": "case_officer", "password": "short"}, 422, "password"),
        ({"username": "x5", "role": "king", "password": PASSWORD}, 422, "role"),
        ({"username": "bad name", "role": "admin", "password": PASSWORD}, 422, "username"),
        ({"username": "VAKTMESTER", "role": "admin", "password": PASSWORD}, 409, "username"),
    ]
    before = world.booking.count(StaffUser)
    for payload, status, field in bad:
        answer = world.request("POST", "/api/v1/staff", admin, json=payload)
        assert (answer.status_code, answer.json()["error"]["field"]) == (status, field), payload
    assert world.booking.count(StaffUser) == before  # a bad request changes nothing

    # The same username in another tenant is that tenant's own business.
    other = world.callers["other tenant's admin"]
    again = world.request(
        "POST",
        "/api/v1/staff",
        other,
        json={"username": "vaktmester", "role": "admin", "password": PASSWORD},
    )
    assert again.status_code == 201, again.text

    promoted = world.request(
        "PATCH", f"/api/v1/staff/{staff_id}", admin, json={"role": "case_officer"}
    )
    assert promoted.status_code == 200 and promoted.json()["venue_ids"] == []
    session = sign_in(world.booking, "vaktmester")
    me = Caller("vaktmester", session, signed_in=True)
    assert world.request("GET", "/api/v1/session", me).status_code == 200

    reset = world.request(
        "POST",
        f"/api/v1/staff/{staff_id}/password",
        admin,
        json={"password": "a brand new passphrase"},
    )
    assert reset.status_code == 200
    assert world.request("GET", "/api/v1/session", me).status_code == 401  # signed out
    with pytest.raises(AssertionError):
        sign_in(world.booking, "vaktmester")  # the old password is gone
    world.booking.client.cookies.clear()

    disabled = world.request("PATCH", f"/api/v1/staff/{staff_id}", admin, json={"disabled": True})
    assert disabled.json()["disabled"] is True
    listed = world.request("GET", "/api/v1/staff", admin).json()
    assert {s["username"] for s in listed} >= {"admin", "officer", "vaktmester"}
    assert staff_id not in world.request("GET", "/api/v1/staff", other).text
    assert PASSWORD not in caplog.text and "a brand new passphrase" not in caplog.text


def test_sign_in__unknown_user_and_wrong_password__look_the_same_and_are_throttled(
    world: World,
) -> None:
    client = world.booking.client
    client.cookies.clear()
    unknown = client.post(
        "/api/v1/session", json={"tenant": "testby", "username": "nobody", "password": PASSWORD}
    )
    wrong = client.post(
        "/api/v1/session", json={"tenant": "testby", "username": "officer", "password": "wrong one"}
    )
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json()
    assert "set-cookie" not in wrong.headers
    for _ in range(4):  # five wrong passwords per username per 15 minutes (the default)
        assert (
            client.post(
                "/api/v1/session",
                json={"tenant": "testby", "username": "officer", "password": "wrong again"},
            ).status_code
            == 401
        )
    locked = client.post(
        "/api/v1/session", json={"tenant": "testby", "username": "OFFICER", "password": PASSWORD}
    )
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
    # Other names from the same address still get in, until the address's own limit.
    assert (
        client.post(
            "/api/v1/session", json={"tenant": "testby", "username": "admin", "password": PASSWORD}
        ).status_code
        == 200
    )
    world.booking.clock.advance(timedelta(minutes=16))
    client.cookies.clear()
    assert (
        client.post(
            "/api/v1/session",
            json={"tenant": "testby", "username": "officer", "password": PASSWORD},
        ).status_code
        == 200
    )
    client.cookies.clear()


def test_session__cookie_flags_csrf_idle_timeout_and_sign_out(world: World) -> None:
    client = world.booking.client
    client.cookies.clear()
    answer = client.post(
        "/api/v1/session", json={"tenant": "testby", "username": "officer", "password": PASSWORD}
    )
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
    assert "secure" not in cookie  # plain http in the test, without HALLKEY_COOKIE_SECURE
    secret = answer.cookies["hallkey_session"]
    client.cookies.clear()
    with world.booking.ctx.database.read() as session:
        stored = session.scalars(select(StaffSession.secret_hash)).all()
    assert secret not in stored  # only its hash is kept

    csrf = answer.json()["csrf_token"]
    cookie_only = Caller("no csrf", {"Cookie": f"hallkey_session={secret}"}, signed_in=True)
    with_csrf = Caller("csrf", {**cookie_only.headers, "X-CSRF-Token": csrf}, signed_in=True)
    body = reservation_body(
        world.booking.resource_id, "2026-05-06T10:00:00Z", "2026-05-06T11:00:00Z"
    )
    refused = world.request("POST", "/api/v1/reservations", cookie_only, json=body)
    assert refused.status_code == 403 and refused.json()["error"]["field"] == "X-CSRF-Token"
    forged = Caller("forged", {**cookie_only.headers, "X-CSRF-Token": "0" * 64})
    assert world.request("POST", "/api/v1/reservations", forged, json=body).status_code == 403
    made = world.request("POST", "/api/v1/reservations", with_csrf, json=body)
    assert made.status_code == 201, made.text
    # A read needs no CSRF token.
    assert (
        world.request("GET", f"/api/v1/reservations/{made.json()['id']}", cookie_only).status_code
        == 200
    )

    world.booking.clock.advance(timedelta(minutes=59))
    assert world.request("GET", "/api/v1/session", cookie_only).status_code == 200
    world.booking.clock.advance(timedelta(minutes=59))  # used a minute ago: still alive
    assert (
        world.request("GET", f"/api/v1/reservations/{made.json()['id']}", cookie_only).status_code
        == 200
    )
    world.booking.clock.advance(timedelta(minutes=61))  # idle past the hour
    assert world.request("GET", "/api/v1/session", cookie_only).status_code == 401

    fresh = sign_in(world.booking, "officer")
    caller = Caller("fresh", fresh, signed_in=True)
    assert (
        world.request(
            "DELETE", "/api/v1/session", Caller("x", {"Cookie": fresh["Cookie"]})
        ).status_code
        == 403
    )
    assert world.request("DELETE", "/api/v1/session", caller).status_code == 204
    assert world.request("GET", "/api/v1/session", caller).status_code == 401


def test_session__ends_after_its_longest_life_however_busy(world: World) -> None:
    caller = Caller("s", sign_in(world.booking, "officer"), signed_in=True)
    for _ in range(13):  # 11 h 55 min
        world.booking.clock.advance(timedelta(minutes=55))
        assert world.request("GET", "/api/v1/session", caller).status_code == 200
    world.booking.clock.advance(timedelta(minutes=55))  # 12 h 50 min: past 12 hours
    assert world.request("GET", "/api/v1/session", caller).status_code == 401


def test_personal_tokens__bounded_by_role__follow_role_changes__stop_when_disabled(
    world: World,
) -> None:
    officer = world.callers["case officer session"]
    caretaker = world.callers["caretaker session (own venue)"]
    too_much = world.request(
        "POST", "/api/v1/me/tokens", caretaker, json={"name": "x", "scopes": ["staff"]}
    )
    assert too_much.status_code == 403 and too_much.json()["error"]["field"] == "scopes"
    unknown = world.request(
        "POST", "/api/v1/me/tokens", officer, json={"name": "x", "scopes": ["root"]}
    )
    assert unknown.status_code == 422 and unknown.json()["error"]["field"] == "scopes"

    token = personal_token(world.booking, officer.headers, ["staff"], name="laptop")
    as_token = Caller("token", {"Authorization": f"Bearer {token}"})
    booked = world.request(
        "POST",
        "/api/v1/reservations",
        as_token,
        json=reservation_body(
            world.booking.resource_id, "2026-05-07T10:00:00Z", "2026-05-07T11:00:00Z"
        ),
    )
    assert booked.status_code == 201
    reservation = booked.json()["id"]
    mine = world.request("GET", "/api/v1/me/tokens", officer).json()
    assert token not in str(mine) and any(t["scopes"] == ["staff"] for t in mine)

    admin = _admin(world)
    officer_id = world.staff_ids["officer"]
    world.request(
        "PATCH",
        f"/api/v1/staff/{officer_id}",
        admin,
        json={"role": "caretaker", "venue_ids": [world.venue_b]},
    )
    # Now a caretaker of venue B: the token may only read, and only venue B.
    assert (
        world.request("POST", f"/api/v1/reservations/{reservation}/cancel", as_token).status_code
        == 403
    )
    assert world.request("GET", f"/api/v1/reservations/{reservation}", as_token).status_code == 404
    world.request(
        "PATCH", f"/api/v1/staff/{officer_id}", admin, json={"venue_ids": [world.venue_a]}
    )
    assert world.request("GET", f"/api/v1/reservations/{reservation}", as_token).status_code == 200

    world.request("PATCH", f"/api/v1/staff/{officer_id}", admin, json={"disabled": True})
    assert world.request("GET", f"/api/v1/reservations/{reservation}", as_token).status_code == 401
    assert world.request("GET", "/api/v1/session", officer).status_code == 401
    world.request("PATCH", f"/api/v1/staff/{officer_id}", admin, json={"disabled": False})
    assert world.request("GET", f"/api/v1/reservations/{reservation}", as_token).status_code == 200

    # The operator's view of the tenant (what `hallkey apply` compares its tokens with) lists
    # integrations' tokens only: a personal token named like a file's token hides nothing.
    with world.booking.ctx.database.transaction() as session:
        _, operator_key = issue_operator_key(world.booking.ctx, session, name="test")
    tenant = world.request(
        "GET",
        "/api/v1/tenants/testby",
        Caller("operator", {"Authorization": f"Bearer {operator_key}"}),
    ).json()
    assert "laptop" not in {t["name"] for t in tenant["tokens"]} and "portal" in {
        t["name"] for t in tenant["tokens"]
    }

    token_id = next(
        t["id"]
        for t in world.request("GET", "/api/v1/me/tokens", as_token).json()
        if t["name"] == "laptop"
    )
    assert world.request("DELETE", f"/api/v1/me/tokens/{token_id}", as_token).status_code == 204
    assert world.request("GET", f"/api/v1/reservations/{reservation}", as_token).status_code == 401
