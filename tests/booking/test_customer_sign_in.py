"""Customers sign in with a one-time link by e-mail: from the outbox file to a session cookie
to their own reservations, through HTTP."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from hallkey.booking.models import Customer, CustomerSignIn
from tests.booking.conftest import Booking, reservation_body

KARI = {"name": "Kari Nordmann", "phone": "412 34 567", "email": "kari@example.no"}
LINK = "/api/v1/customer-session/link"


def outbox(booking: Booking) -> Path:
    return booking.ctx.settings.outbox_dir / "booking"


def mails(booking: Booking) -> list[str]:
    """The sign-in mails in the booking's outbox (its booking emails lie there too)."""
    folder = outbox(booking)
    found = [p.read_text() for p in sorted(folder.glob("*.txt"))] if folder.exists() else []
    return [mail for mail in found if "/login?token=" in mail]


def token_of(mail: str) -> str:
    found = re.search(r"/login\?token=([A-Za-z0-9_-]+)", mail)
    assert found is not None, mail
    return found.group(1)


def book(booking: Booking, start: str = "2026-05-04T10:00:00Z", **customer: str) -> Any:
    body = reservation_body(
        booking.resource_id, start, start.replace("T10", "T11"), customer={**KARI, **customer}
    )
    response = booking.client.post("/api/v1/reservations", json=body, headers=booking.headers())
    assert response.status_code == 201, response.text
    return response.json()


def ask_link(booking: Booking, email: str = KARI["email"], **extra: Any) -> Any:
    return booking.client.post(LINK, json={"email": email, "tenant": "testby", **extra})


def sign_in(booking: Booking) -> str:
    """Asks for a link, takes it from the outbox, trades it for a session; returns the token."""
    assert ask_link(booking).status_code == 202
    booking.ctx.worker.run_pending()
    token = token_of(mails(booking)[-1])
    response = booking.client.post("/api/v1/customer-session", json={"token": token})
    assert response.status_code == 200, response.text
    return token


def test_sign_in__link_from_the_outbox__gives_a_session_and_my_reservations(
    booking: Booking,
) -> None:
    mine = book(booking)
    book(booking, "2026-05-05T10:00:00Z", email="someone.else@example.no")

    answer = ask_link(booking)
    assert answer.status_code == 202
    booking.ctx.worker.run_pending()
    [mail] = mails(booking)
    # In the language of Kari's booking (bokmål): the API's ask names no language.
    assert mail.startswith("To: kari@example.no\nSubject: Lenken din for å logge inn")
    # The link names the tenant's own host, never the host the request came with.
    assert "https://booking.testby.example/login?token=" in mail
    token = token_of(mail)
    assert len(token) >= 43  # 256 bits, URL-safe base64
    with booking.ctx.database.transaction() as session:
        stored = session.scalars(select(CustomerSignIn.token_hash)).all()
    assert token not in str(stored)  # only its hash is kept

    # Before signing in, /me is closed.
    assert booking.client.get("/api/v1/me/reservations").status_code == 401
    signed = booking.client.post("/api/v1/customer-session", json={"token": token})
    assert signed.status_code == 200, signed.text
    assert signed.json()["customer_id"] == mine["customer"]["id"]
    cookie = signed.headers["set-cookie"]
    assert "hallkey_customer=" in cookie and "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()

    listed = booking.client.get("/api/v1/me/reservations")
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert [r["id"] for r in body["items"]] == [mine["id"]]
    assert body["items"][0]["access"]["state"] == "pending"
    assert body["withheld"] == []
    assert booking.client.get("/api/v1/me").json()["email"] == "kari@example.no"

    # Signing out ends the session on the server.
    assert booking.client.delete("/api/v1/customer-session").status_code == 204
    assert booking.client.get("/api/v1/me/reservations").status_code == 401


def test_sign_in__link_used_twice__is_refused(booking: Booking) -> None:
    book(booking)
    token = sign_in(booking)
    booking.client.cookies.clear()
    again = booking.client.post("/api/v1/customer-session", json={"token": token})
    assert again.status_code == 401
    assert again.json()["error"]["code"] == "invalid_link"
    assert booking.client.get("/api/v1/me/reservations").status_code == 401


def test_sign_in__link_after_15_minutes__is_refused(booking: Booking) -> None:
    book(booking)
    assert ask_link(booking).status_code == 202
    booking.ctx.worker.run_pending()
    token = token_of(mails(booking)[-1])
    booking.clock.advance(timedelta(minutes=15))
    late = booking.client.post("/api/v1/customer-session", json={"token": token})
    assert late.status_code == 401
    assert late.json()["error"]["code"] == "invalid_link"


def test_sign_in__unknown_email__same_answer_and_nothing_sent(booking: Booking) -> None:
    book(booking)
    known = ask_link(booking)
    unknown = ask_link(booking, "nobody@example.no")
    assert (unknown.status_code, unknown.json()) == (known.status_code, known.json())
    booking.ctx.worker.run_pending()
    assert len(mails(booking)) == 1
    # A made-up token is refused like a used one.
    forged = booking.client.post("/api/v1/customer-session", json={"token": "x" * 43})
    assert forged.status_code == 401


def test_sign_in__throttled_per_email_and_per_address(booking: Booking) -> None:
    book(booking)
    for _ in range(3):
        assert ask_link(booking).status_code == 202
    refused = ask_link(booking)
    assert refused.status_code == 429
    assert "retry-after" in {k.lower() for k in refused.headers}
    # Other addresses from the same source still pass until the source's own limit.
    codes = [ask_link(booking, f"p{i}@example.no").status_code for i in range(17)]
    assert codes == [202] * 16 + [429]
    booking.clock.advance(timedelta(minutes=16))
    assert ask_link(booking).status_code == 202


def test_sign_in__bad_input__names_the_field(booking: Booking) -> None:
    bad = booking.client.post(LINK, json={"email": "not-an-address", "tenant": "testby"})
    assert bad.status_code == 422
    assert bad.json()["error"]["field"] == "email"
    extra = booking.client.post(LINK, json={"email": "a@example.no", "password": "x"})
    assert extra.status_code == 422
    short = booking.client.post("/api/v1/customer-session", json={"token": "abc"})
    assert short.status_code == 422
    assert short.json()["error"]["field"] == "token"


def test_sign_in__signed_in_customer_booking_as_themselves__updates_their_record(
    booking: Booking,
) -> None:
    mine = book(booking)
    customer_id = mine["customer"]["id"]
    # Not signed in: a booking with Kari's e-mail and another name changes nothing of hers.
    book(booking, "2026-05-05T10:00:00Z", name="Mallory", phone="909 87 654")
    with booking.ctx.database.transaction() as session:
        kari = session.get(Customer, customer_id)
        assert kari is not None and kari.name == "Kari Nordmann"

    sign_in(booking)
    body = reservation_body(
        booking.resource_id,
        "2026-05-06T10:00:00Z",
        "2026-05-06T11:00:00Z",
        customer={**KARI, "name": "Kari N. Hansen", "phone": "413 57 986"},
    )
    booked = booking.client.post("/api/v1/me/reservations", json=body)
    assert booked.status_code == 201, booked.text
    assert booked.json()["customer"]["id"] == customer_id
    me = booking.client.get("/api/v1/me").json()
    assert (me["name"], me["phone"]) == ("Kari N. Hansen", "+4741357986")

    listed = booking.client.get("/api/v1/me/reservations").json()
    assert len(listed["items"]) == 3
    # Mallory's booking with Kari's e-mail is listed without Mallory's contact or key.
    [withheld] = listed["withheld"]
    item = next(r for r in listed["items"] if r["id"] == withheld)
    assert item["customer"]["name"] is None and item["customer"]["phone"] is None


def test_sign_in__erased_customer__session_ends(booking: Booking) -> None:
    mine = book(booking, "2026-05-04T10:00:00Z")
    sign_in(booking)
    cancel = booking.client.post(
        f"/api/v1/reservations/{mine['id']}/cancel", headers=booking.headers()
    )
    assert cancel.status_code == 200
    erased = booking.client.post(
        f"/api/v1/customers/{mine['customer']['id']}/erase", headers=booking.headers()
    )
    assert erased.status_code == 200, erased.text
    assert booking.client.get("/api/v1/me").status_code == 401
    with booking.ctx.database.transaction() as session:
        assert session.scalars(select(CustomerSignIn)).all() == []


def test_sign_in__a_customer_booking_as_themselves__cannot_name_a_price_group(
    booking: Booking,
) -> None:
    book(booking)
    ask_link(booking)
    booking.ctx.worker.run_pending()
    [mail] = mails(booking)
    assert (
        booking.client.post("/api/v1/customer-session", json={"token": token_of(mail)}).status_code
        == 200
    )
    body = reservation_body(
        booking.resource_id, "2026-05-06T10:00:00Z", "2026-05-06T11:00:00Z", price_group="youth"
    )

    refused = booking.client.post("/api/v1/me/reservations", json=body)

    assert refused.status_code == 422 and refused.json()["error"]["field"] == "price_group"
