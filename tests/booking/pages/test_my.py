"""`/my` and the customer's sign-in through the pages: the link by e-mail (in the page's
language), the bookings with the key of each by its access state, and cancelling one's own
booking (never another's, never without the form's token, never once it has begun)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hallkey.booking.models import Reservation, Resource
from hallkey.booking.pages import my_pages
from hallkey.booking.pages.my_pages import BookingView, groups
from tests.booking.conftest import Booking, BookingFactory, reservation_body
from tests.booking.hub_proxy import END, START, World, start_real_hub
from tests.booking.qr_reader import read_qr
from tests.conftest import DatabaseUrlFactory

KARI = {"name": "Kari Nordmann", "phone": "412 34 567", "email": "kari@example.no"}
OLA = {"name": "Ola Nordmann", "phone": "413 34 567", "email": "ola@example.no"}
TESTBY = "booking.testby.example"


@pytest.fixture
def world(
    make_booking: BookingFactory, database_url: DatabaseUrlFactory, tmp_path: Path
) -> Iterator[World]:
    """A booking context whose tenants use a real hub on loopback."""
    with start_real_hub(make_booking, database_url, tmp_path) as (booking, real_hub):
        yield World(booking, real_hub)


def client_of(booking: Booking, host: str = TESTBY) -> TestClient:
    """Returns a browser-like client of the booking's pages (its own cookies) on `host`."""
    return TestClient(booking.client.app, base_url=f"http://{host}", follow_redirects=False)


def book(
    booking: Booking,
    start: str = START,
    end: str = END,
    customer: dict[str, str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    resource_id = extra.pop("resource_id", booking.resource_id)
    token = booking.other_token if resource_id == booking.other_resource_id else booking.token
    body = reservation_body(resource_id, start, end, customer=customer or KARI, **extra)
    response = booking.client.post(
        "/api/v1/reservations", json=body, headers=booking.headers(token)
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def csrf_of(page: TestClient, path: str = "/login") -> str:
    """Opens a page and returns the CSRF token its forms carry."""
    html = page.get(path).text
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None, html
    return found.group(1)


def sign_in_mails(booking: Booking) -> list[str]:
    folder = booking.ctx.settings.outbox_dir / "booking"
    found = [p.read_text() for p in sorted(folder.glob("*.txt"))] if folder.exists() else []
    return [mail for mail in found if "/login?token=" in mail]


def sign_in(booking: Booking, page: TestClient, email: str = KARI["email"]) -> str:
    """Signs in through the pages: the e-mail form, the link from the outbox, the button.
    Returns the sign-in e-mail."""
    before = len(sign_in_mails(booking))
    asked = page.post("/login/email", data={"csrf": csrf_of(page), "email": email})
    assert asked.status_code == 200, asked.text
    booking.ctx.worker.run_pending()
    mails = sign_in_mails(booking)
    assert len(mails) == before + 1
    found = re.search(r"/login\?token=([A-Za-z0-9_-]+)", mails[-1])
    assert found is not None
    landing = page.get(f"/login?token={found.group(1)}")
    assert landing.status_code == 200
    button = re.search(r'name="token" value="([^"]+)"', landing.text)
    assert button is not None and button.group(1) == found.group(1)
    csrf = re.search(r'name="csrf" value="([^"]+)"', landing.text)
    assert csrf is not None
    signed = page.post("/login/link", data={"csrf": csrf.group(1), "token": found.group(1)})
    assert signed.status_code == 303 and signed.headers["location"] == "/my"
    return mails[-1]


def status_of(booking: Booking, reservation_id: str) -> tuple[str, int]:
    with booking.ctx.database.read() as session:
        found = session.get(Reservation, reservation_id)
        assert found is not None
        return found.status, found.version


def set_resource(booking: Booking, resource_id: str, **values: Any) -> None:
    with booking.ctx.database.transaction() as session:
        resource = session.get(Resource, resource_id)
        assert resource is not None
        for name, value in values.items():
            setattr(resource, name, value)


def test_my__not_signed_in__goes_to_the_customers_sign_in(booking: Booking) -> None:
    page = client_of(booking)
    answer = page.get("/my")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=/my&for=customer"
    # The customer's form comes first there (its field has the focus).
    login = page.get(answer.headers["location"])
    assert re.search(r'<input id="email"[^>]*autofocus', login.text)
    cancel = page.get("/my/reservations/rsv_x/cancel")
    assert cancel.status_code == 303 and "for=customer" in cancel.headers["location"]


def test_sign_in__through_the_pages__the_email_in_the_page_language_then_my_bookings(
    booking: Booking,
) -> None:
    created = book(booking)
    page = client_of(booking)

    mail = sign_in(booking, page)
    assert "Subject: Lenken din for å logge inn" in mail
    assert f"https://{TESTBY}/login?token=" in mail

    mine = page.get("/my")
    assert mine.status_code == 200, mine.text
    assert mine.headers["cache-control"] == "no-store"  # it may show a code
    assert '<html lang="nb">' in mine.text
    assert "Mine bookinger" in mine.text and "Logget inn som Kari Nordmann." in mine.text
    assert f'data-reservation="{created["id"]}"' in mine.text
    assert "Main hall" in mine.text and "Testby hall" in mine.text
    # 10:00 to 12:00 UTC is 12:00 to 14:00 in Oslo's summer time (START, END of hub_proxy).
    assert "12:00\u201314:00" in mine.text
    assert "Bekreftet" in mine.text
    assert "Koden din er på vei." in mine.text  # the hub is not reachable: no code yet

    # "My data": the API's own answers about the customer, with the same cookie.
    assert '<a href="/api/v1/me">mine opplysninger</a>' in mine.text
    assert page.get("/api/v1/me").json()["email"] == KARI["email"]

    # Asked from the English page, the e-mail is English.
    english = client_of(booking)
    english.get("/login?lang=en")
    assert "Subject: Your sign-in link" in sign_in(booking, english)
    assert "My bookings" in english.get("/my").text


def test_sign_in__bad_email__keeps_what_was_typed_and_sends_nothing(booking: Booking) -> None:
    page = client_of(booking)
    answer = page.post("/login/email", data={"csrf": csrf_of(page), "email": "kari.example.no"})
    assert answer.status_code == 422
    assert 'value="kari.example.no"' in answer.text
    assert 'aria-invalid="true" aria-describedby="email-error"' in answer.text
    booking.ctx.worker.run_pending()
    assert sign_in_mails(booking) == []


def test_sign_in__by_the_api__speaks_the_language_of_the_latest_booking(booking: Booking) -> None:
    book(booking, locale="en")
    asked = booking.client.post(
        "/api/v1/customer-session/link", json={"email": KARI["email"], "tenant": "testby"}
    )
    assert asked.status_code == 202
    booking.ctx.worker.run_pending()
    [mail] = sign_in_mails(booking)
    assert "Subject: Your sign-in link" in mail and "Sign in to see" in mail


def test_my__another_tenants_customer__is_not_signed_in_here(booking: Booking) -> None:
    book(booking, resource_id=booking.other_resource_id, customer=OLA)
    book(booking, customer=OLA)
    elsewhere = client_of(booking, host="localhost")
    # Ola signs in at Annenby (the tenant named by ?tenant=).
    csrf = csrf_of(elsewhere, "/login?tenant=annenby")
    asked = elsewhere.post(
        "/login/email?tenant=annenby", data={"csrf": csrf, "email": OLA["email"]}
    )
    assert asked.status_code == 200
    booking.ctx.worker.run_pending()
    [mail] = sign_in_mails(booking)
    token = re.search(r"/login\?token=([A-Za-z0-9_-]+)", mail)
    assert token is not None
    signed = elsewhere.post("/login/link", data={"csrf": csrf, "token": token.group(1)})
    assert signed.status_code == 303
    assert "Other hall" in elsewhere.get("/my?tenant=annenby").text

    # The same cookie on Testby's host: a visitor there, sent to sign in.
    testby = client_of(booking)
    testby.cookies.update(elsewhere.cookies)
    answer = testby.get("/my")
    assert answer.status_code == 303 and "for=customer" in answer.headers["location"]


def test_cancel__own_booking__after_the_confirmation_page(booking: Booking) -> None:
    created = book(booking)
    page = client_of(booking)
    sign_in(booking, page)

    listed = page.get("/my").text
    assert f'href="/my/reservations/{created["id"]}/cancel"' in listed
    assert "Du kan avbestille gratis." in listed
    confirm = page.get(f"/my/reservations/{created['id']}/cancel")
    assert confirm.status_code == 200
    assert "Vil du avbestille?" in confirm.text and "Ja, avbestill" in confirm.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', confirm.text)
    assert csrf is not None

    done = page.post(f"/my/reservations/{created['id']}/cancel", data={"csrf": csrf.group(1)})
    assert done.status_code == 303 and done.headers["location"] == "/my?cancelled=1"
    assert status_of(booking, created["id"])[0] == "cancelled"
    after = page.get(done.headers["location"]).text
    assert "Reservasjonen er avbestilt." in after
    assert "Avbestilt" in after and f"/my/reservations/{created['id']}/cancel" not in after
    # Cancelled again (a second click): nothing more happens.
    version = status_of(booking, created["id"])[1]
    again = page.post(f"/my/reservations/{created['id']}/cancel", data={"csrf": csrf.group(1)})
    assert again.status_code == 303 and status_of(booking, created["id"])[1] == version


def test_cancel__another_customers_booking__is_not_found_and_nothing_changes(
    booking: Booking,
) -> None:
    book(booking)
    other = book(booking, "2026-05-04T14:00:00Z", "2026-05-04T15:00:00Z", customer=OLA)
    page = client_of(booking)
    sign_in(booking, page)
    before = status_of(booking, other["id"])

    assert page.get(f"/my/reservations/{other['id']}/cancel").status_code == 404
    csrf = csrf_of(page, "/my")
    answer = page.post(f"/my/reservations/{other['id']}/cancel", data={"csrf": csrf})
    assert answer.status_code == 404
    assert "Finnes ikke." in answer.text
    assert status_of(booking, other["id"]) == before == ("confirmed", 1)
    assert f'data-reservation="{other["id"]}"' not in page.get("/my").text


def test_cancel__without_the_forms_token__is_refused_and_nothing_changes(
    booking: Booking,
) -> None:
    created = book(booking)
    page = client_of(booking)
    sign_in(booking, page)

    for data in ({}, {"csrf": "forged"}):
        answer = page.post(f"/my/reservations/{created['id']}/cancel", data=data)
        assert answer.status_code == 403
    assert status_of(booking, created["id"]) == ("confirmed", 1)


def test_cancel__terms_shown_before__charged_late__refused_once_begun(booking: Booking) -> None:
    set_resource(booking, booking.resource_id, free_cancellation_hours=24)
    soon = book(booking)  # 10:00 UTC today; the clock says 06:00: inside the 24 hours
    later = book(booking, "2026-05-08T12:00:00Z", "2026-05-08T13:00:00Z")
    page = client_of(booking)
    sign_in(booking, page)

    listed = page.get("/my").text
    assert "Avbestiller du nå, må du betale" in listed
    assert "Gratis avbestilling til 7. mai 2026 14:00." in listed
    assert "Free cancellation until 7 May 2026 14:00." in page.get("/my?lang=en").text
    page.get("/my?lang=nb")

    # Once begun, the page offers no cancel, and a post of the old form is refused.
    csrf = csrf_of(page, f"/my/reservations/{soon['id']}/cancel")
    booking.clock.set(datetime.fromisoformat(START) + timedelta(minutes=5))
    listed = page.get("/my").text
    assert f'/my/reservations/{soon["id"]}/cancel"' not in listed
    assert "Den har begynt og kan ikke lenger avbestilles." in listed
    refused = page.post(f"/my/reservations/{soon['id']}/cancel", data={"csrf": csrf})
    assert refused.status_code == 409
    assert "Denne reservasjonen kan ikke lenger avbestilles." in refused.text
    assert status_of(booking, soon["id"]) == ("confirmed", 1)

    # The later one, inside its free days, is cancelled without charge.
    done = page.post(f"/my/reservations/{later['id']}/cancel", data={"csrf": csrf})
    assert done.status_code == 303
    with booking.ctx.database.read() as session:
        cancelled = session.get(Reservation, later["id"])
        assert cancelled is not None and not cancelled.cancellation_charged


def test_my__upcoming_first_then_past__requests_and_denials_with_the_reason(
    booking: Booking,
) -> None:
    past = book(booking, "2026-05-04T07:00:00Z", "2026-05-04T08:00:00Z")
    upcoming = book(booking)
    request = book(booking, resource_id=booking.approval_resource_id)
    denied = book(
        booking, "2026-05-05T12:00:00Z", "2026-05-05T13:00:00Z",
        resource_id=booking.approval_resource_id,
    )  # fmt: skip
    decided = booking.client.post(
        f"/api/v1/reservations/{denied['id']}/deny",
        json={"reason": "Hallen er stengt for vedlikehold."},
        headers=booking.headers(),
    )
    assert decided.status_code == 200, decided.text
    page = client_of(booking)
    sign_in(booking, page)
    booking.clock.set(datetime.fromisoformat("2026-05-04T08:30:00Z"))

    html = page.get("/my").text
    order = [m for m in re.findall(r'data-reservation="([^"]+)"', html)]
    assert order == [upcoming["id"], request["id"], denied["id"], past["id"]]
    assert html.index("Kommende") < html.index(upcoming["id"]) < html.index("Tidligere")
    assert "En saksbehandler ser på søknaden din." in html
    assert "Søknaden din er avslått. Begrunnelse: Hallen er stengt for vedlikehold." in html
    # A past booking can no longer be cancelled; a request and a denial show no key.
    assert f'/my/reservations/{past["id"]}/cancel"' not in html
    assert f'/my/reservations/{denied["id"]}/cancel"' not in html
    assert html.count("er på vei") == 1  # only the confirmed upcoming one waits for its code

    english = page.get("/my?lang=en").text
    assert '<html lang="en">' in english
    assert "Upcoming" in english and "Earlier" in english and "Declined" in english


def article(html: str, reservation_id: str) -> str:
    """Returns the part of `/my` about one reservation."""
    found = re.search(rf'<article[^>]*data-reservation="{reservation_id}".*?</article>', html, re.S)
    assert found is not None, html
    return found.group(0)


def test_my__the_code_only_once_granted__and_gone_after_cancel(world: World) -> None:
    booking = world.booking
    book(booking, "2026-05-06T10:00:00Z", "2026-05-06T11:00:00Z")  # so that Kari may sign in
    page = client_of(booking)
    sign_in(booking, page)  # (its jobs grant that first booking)
    created = book(booking)

    waiting = article(page.get("/my").text, created["id"])
    assert "Koden din er på vei." in waiting and 'class="pin"' not in waiting
    world.run_jobs()  # the grant at the hub
    code = world.real_hub.grant(created["ref"])["code"]

    granted = article(page.get("/my").text, created["id"])
    assert f'<p class="pin" data-code>{code}#</p>' in granted
    assert "Tast koden på tastaturet ved døren og avslutt med #." in granted
    # From 15 minutes before to 15 minutes after the booking (the resource's access minutes).
    assert "Den virker" in granted and "11:45\u201314:15" in granted
    assert "Your code" in page.get("/my?lang=en").text

    csrf = csrf_of(page, f"/my/reservations/{created['id']}/cancel")
    cancel = page.post(f"/my/reservations/{created['id']}/cancel", data={"csrf": csrf})
    assert cancel.status_code == 303
    world.run_jobs()  # the revocation at the hub
    assert world.real_hub.grant(created["ref"])["state"] == "revoked"
    gone = page.get("/my?lang=nb").text
    assert code not in gone and 'class="pin"' not in article(gone, created["id"])


def test_my__mobile_key__a_qr_code_that_reads_back_as_the_key(world: World, tmp_path: Path) -> None:
    booking = world.booking
    set_resource(booking, booking.resource_id, credential="mobile_key")
    created = book(booking)
    world.run_jobs()
    token = world.get(created["id"])["access"]["mobile_key"]
    page = client_of(booking)
    sign_in(booking, page)

    html = page.get("/my").text
    svg = re.search(r'<figure class="qr">(<svg.*?</svg>)', html, re.S)
    assert svg is not None
    assert read_qr(svg.group(1), tmp_path) == token
    assert f">{token}</textarea>" in html  # the token, to copy
    assert "Vis denne koden til leseren ved døren." in html


def test_my__url_key_and_a_booking_made_by_someone_else_with_my_email(world: World) -> None:
    booking = world.booking
    set_resource(booking, booking.resource_id, credential="url_key")
    mine = book(booking)
    theirs = book(
        booking, "2026-05-05T12:00:00Z", "2026-05-05T13:00:00Z",
        customer={**KARI, "name": "Per Person", "phone": "414 34 567"},
    )  # fmt: skip
    world.run_jobs()
    page = client_of(booking)
    sign_in(booking, page)

    html = page.get("/my").text
    url = world.get(mine["id"])["access"]["url"]
    assert f'<a class="button key-link" href="{url}">Åpne nøkkelen din</a>' in html
    their_url = world.get(theirs["id"])["access"]["url"]
    assert their_url not in html and "Per Person" not in html
    assert "Nøkkelen ble sendt til den som gjorde denne reservasjonen" in html


def test_groups__a_series_occurrences_together_at_the_place_of_its_first() -> None:
    def item(series: str | None) -> BookingView:
        return BookingView(
            reservation=None,  # type: ignore[arg-type]  # grouping reads only series_id
            place=None,  # type: ignore[arg-type]
            access_from=datetime.min,
            access_to=datetime.min,
            key=None,  # type: ignore[arg-type]
            terms=None,  # type: ignore[arg-type]
            series_id=series,
        )

    a1, b, a2, c = item("ser_a"), item(None), item("ser_a"), item("ser_c")
    found = groups([a1, b, a2, c])
    assert [(g.series_id, [id(x) for x in g.items]) for g in found] == [
        ("ser_a", [id(a1), id(a2)]),
        (None, [id(b)]),
        ("ser_c", [id(c)]),
    ]


def test_cancel__the_reservation_page_of_an_unknown_id__is_not_found(booking: Booking) -> None:
    book(booking)
    page = client_of(booking)
    sign_in(booking, page)
    assert page.get("/my/reservations/rsv_unknown/cancel").status_code == 404
    with booking.ctx.database.read() as session:
        assert session.scalars(select(Reservation.status)).all() == ["confirmed"]


def test_my__a_key_the_hub_refused__says_so_without_a_code(world: World) -> None:
    booking = world.booking
    # The meeting room's door is unknown to the hub: it refuses the grant for good.
    created = book(booking, resource_id=booking.hours_resource_id)
    page = client_of(booking)
    sign_in(booking, page)
    world.run_jobs()
    assert world.get(created["id"])["access"]["state"] == "failed"

    html = article(page.get("/my").text, created["id"])
    assert "Nøkkelen din kunne ikke lages. Kontakt Testby kommune." in html
    assert 'class="pin"' not in html and "er på vei" not in html


def test_my__pages_of_upcoming_and_more_past_on_request(
    booking: Booking, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(my_pages, "UPCOMING_PAGE", 2)
    days = ["2026-05-04", "2026-05-05", "2026-05-06", "2026-05-07", "2026-05-08"]
    made = [book(booking, f"{day}T10:00:00Z", f"{day}T11:00:00Z")["id"] for day in days]
    page = client_of(booking)
    sign_in(booking, page)
    booking.clock.set(datetime.fromisoformat("2026-05-05T12:00:00Z"))  # two are over

    first = page.get("/my?past=1").text
    shown = re.findall(r'data-reservation="([^"]+)"', first)
    assert shown == [made[2], made[3], made[1]]  # two upcoming, then the latest past one
    more = re.search(r'href="/my\?more=([^"]+)"', first)
    assert more is not None and 'href="/my?past=5#past-title"' in first
    second = page.get(f"/my?more={more.group(1)}&past=5").text
    assert re.findall(r'data-reservation="([^"]+)"', second) == [made[4], made[1], made[0]]
    # (The language link keeps the page's query; only the page's own links count here.)
    own_links = re.sub(r'<nav class="lang".*?</nav>', "", second, flags=re.S)
    assert "/my?more=" not in own_links and "/my?past=" not in own_links
    assert page.get("/my?more=not-a-cursor").status_code == 400
