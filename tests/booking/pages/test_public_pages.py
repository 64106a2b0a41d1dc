"""The public front through the real HTTP app: `/` lists what a tenant offers, a resource's
page shows its week and books through the booking service, and the confirmation is only for
who booked. On SQLite and PostgreSQL, in Norwegian and English."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from hallkey.booking import create_resource, prices
from hallkey.booking.models import Customer, Reservation, Resource
from hallkey.booking.pages import signed
from hallkey.booking.schemas import PriceIn
from tests.booking.conftest import Booking, BookingFactory, reservation_body
from tests.booking.test_customer_sign_in import sign_in
from tests.servers import serving

HOST = {"Host": "booking.testby.example"}
KARI = {"name": "Kari Nordmann", "phone": "412 34 567", "email": "kari@example.no"}


@pytest.fixture
def booking(make_booking: BookingFactory) -> Booking:
    """A seeded booking context whose Main hall costs 250 kr an hour (no VAT) for private
    persons, and whose Testby hall has an inactive resource too."""
    made = make_booking()
    with made.ctx.database.transaction() as session:
        hall = session.get(Resource, made.resource_id)
        assert hall is not None
        price = PriceIn(group="private", unit="hour", amount_ore=25000, vat_rate="0")
        prices.set_prices(session, hall, [price], made.clock.now())
        create_resource(
            made.ctx,
            session,
            venue_id=hall.venue_id,
            name="Closed sauna",
            door_ids=["dor_s"],
            active=False,
        )
    made.client.headers.update(HOST)
    return made


def page(booking: Booking, url: str, **kwargs: Any) -> httpx.Response:
    response: httpx.Response = booking.client.get(url, **kwargs)
    assert response.status_code == 200, response.text
    return response


def form_of(html: str) -> dict[str, str]:
    """The hidden fields of the booking form (CSRF and the one-time token)."""
    found = dict(re.findall(r'name="(csrf|form_token)" value="([^"]*)"', html))
    assert set(found) == {"csrf", "form_token"}, html
    return found


def post_booking(
    booking: Booking, resource_id: str, hidden: dict[str, str] | None = None, /, **fields: str
) -> httpx.Response:
    hidden = hidden or form_of(page(booking, f"/resources/{resource_id}").text)
    data = {**hidden, "action": "book", **fields}
    sent: httpx.Response = booking.client.post(
        f"/resources/{resource_id}/book", data=data, follow_redirects=False
    )
    return sent


def reservations(booking: Booking) -> list[Reservation]:
    with booking.ctx.database.read() as session:
        found = session.scalars(select(Reservation).order_by(Reservation.start_at)).all()
        session.expunge_all()
        return list(found)


def test_front__lists_the_tenants_venues_with_price_key_and_approval__not_others_or_inactive(
    booking: Booking,
) -> None:
    nb = page(booking, "/").text
    assert 'lang="nb"' in nb
    for name in ("Main hall", "Meeting room", "Stage", "Testby hall"):
        assert name in nb
    assert "Other hall" not in nb  # another tenant's
    assert "Closed sauna" not in nb  # inactive
    assert f'href="/resources/{booking.resource_id}"' in nb
    assert "250,00\xa0kr per time" in nb
    assert "Gratis" in nb  # the others have no price
    assert "PIN-kode" in nb
    assert "Saksbehandler godkjenner hver booking" in nb  # Stage needs approval
    assert "man.\u2013ons. 08:00\u201322:00" in nb  # Meeting room's hours
    assert "Døgnåpent" in nb
    en = page(booking, "/?lang=en").text
    assert 'lang="en"' in en
    assert "NOK250.00 per hour" in en
    assert "A case officer approves each booking" in en
    other = booking.client.get("/", headers={"Host": "testserver"}, params={"tenant": "annenby"})
    assert "Other hall" in other.text and "Main hall" not in other.text


def test_resource_page__shows_the_week_free_and_taken__never_who_booked(booking: Booking) -> None:
    body = reservation_body(booking.resource_id, "2026-05-05T08:00:00Z", "2026-05-05T10:00:00Z")
    made = booking.client.post("/api/v1/reservations", json=body, headers=booking.headers())
    assert made.status_code == 201, made.text
    html = page(booking, f"/resources/{booking.resource_id}").text
    # Monday 4 May 08:00 in Oslo is now: the week runs from today, free from now on.
    assert "mandag 4. mai 2026" in html
    assert "søndag 10. mai 2026" in html
    taken = re.findall(r'<li class="taken"><span class="when">([^<]*)</span>', html)
    assert taken == ["10:00\u201312:00"]  # Tuesday, Oslo time (UTC+2)
    assert "Kari" not in html and "kari@example.no" not in html and "412" not in html
    assert "08:00\u201324:00" in html  # Monday, free from now
    assert "start=2026-05-05T12:00&amp;end=2026-05-05T13:00#book" in html  # after the booking
    # Next week by its link; ISO weeks too; a bad week is a 422 page naming it.
    following = page(booking, f"/resources/{booking.resource_id}?from=2026-05-11").text
    assert "mandag 11. mai 2026" in following and 'rel="prev"' in following
    assert 'rel="prev"' not in html  # nothing bookable before today
    w49 = page(booking, f"/resources/{booking.resource_id}?week=2026-W49&lang=en").text
    assert "Monday, 30 November 2026" in w49 and "Sunday, 6 December 2026" in w49
    bad = booking.client.get(f"/resources/{booking.resource_id}?week=2026-49")
    assert bad.status_code == 422 and "ISO week" in bad.text


def test_resource_page__another_tenants_unknown_or_inactive_resource__is_404(
    booking: Booking,
) -> None:
    with booking.ctx.database.read() as session:
        sauna = session.scalars(select(Resource.id).where(Resource.name == "Closed sauna")).one()
    for resource_id in (booking.other_resource_id, "res_nothing", sauna):
        response = booking.client.get(f"/resources/{resource_id}")
        assert response.status_code == 404, resource_id
        assert "Finnes ikke" in response.text
    hidden = form_of(page(booking, f"/resources/{booking.resource_id}").text)
    # Even with a form token made for it, another tenant's resource cannot be booked here.
    hidden["form_token"] = signed.new_form_token(booking.ctx, booking.other_resource_id)
    refused = post_booking(
        booking,
        booking.other_resource_id,
        hidden,
        start="2026-05-05T18:00",
        end="2026-05-05T19:00",
        **KARI,
    )
    assert refused.status_code == 404
    assert reservations(booking) == []


def test_booking__a_guest_books__sees_the_confirmation__a_second_send_books_nothing_more(
    booking: Booking,
) -> None:
    hidden = form_of(page(booking, f"/resources/{booking.resource_id}").text)
    fields = {"start": "2026-05-05T18:00", "end": "2026-05-05T19:30", **KARI}
    sent = post_booking(booking, booking.resource_id, hidden, **fields)
    assert sent.status_code == 303, sent.text
    target = sent.headers["location"]
    [made] = reservations(booking)
    assert target.startswith(f"/reservations/{made.id}/confirmation?t=")
    # 18:00 in Oslo in May is 16:00 UTC; booked as the API books: confirmed, priced, pending.
    assert made.start_at == datetime(2026, 5, 5, 16, 0, tzinfo=UTC)
    assert made.end_at == datetime(2026, 5, 5, 17, 30, tzinfo=UTC)
    assert (made.status, made.access_state, made.contact_phone) == (
        "confirmed",
        "pending",
        "+4741234567",
    )
    assert made.price_gross_ore == 37500
    shown = page(booking, target)
    assert shown.headers["cache-control"] == "no-store"
    assert "Bookingen er bekreftet" in shown.text
    assert "tir. 5. mai 18:00\u201319:30" in shown.text
    assert "375,00\xa0kr" in shown.text
    assert 'href="/login?for=customer"' in shown.text
    again = post_booking(booking, booking.resource_id, hidden, **fields)
    assert again.status_code == 303
    assert again.headers["location"].startswith(f"/reservations/{made.id}/confirmation?t=")
    assert len(reservations(booking)) == 1


def test_booking__bad_fields__422_with_each_fields_message__values_kept__nothing_stored(
    booking: Booking,
) -> None:
    sent = post_booking(
        booking,
        booking.resource_id,
        start="2026-05-05T18:00",
        end="2026-05-05T17:00",
        name="Kari Nordmann",
        phone="12",
        email="not-an-address",
    )
    assert sent.status_code == 422
    html = sent.text
    assert 'id="f-phone" name="phone" type="tel" value="12"' in html
    assert 'aria-invalid="true" aria-describedby="f-phone-error' in html
    assert re.search(r'id="f-phone-error">Skriv et gyldig telefonnummer', html)
    assert re.search(r'id="f-email-error">Skriv en gyldig e-postadresse', html)
    assert 'value="Kari Nordmann"' in html
    assert reservations(booking) == []
    # The times are checked by the service as the API checks them.
    late = post_booking(
        booking, booking.resource_id, start="2026-05-05T18:00", end="2026-05-05T17:00", **KARI
    )
    assert late.status_code == 422
    assert re.search(r'id="f-end-error">Slutten må være etter starten', late.text)
    english = booking.client.post(
        f"/resources/{booking.resource_id}/book?lang=en",
        data={**form_of(page(booking, "/resources/" + booking.resource_id).text), "name": ""},
    )
    assert english.status_code == 422
    assert re.search(r'id="f-name-error">Required\.', english.text)
    # Its language link leads back to the resource's page, in the other language.
    link = re.search(r'<a href="([^"]*)" hreflang="nb"', english.text)
    assert link is not None
    back = booking.client.get(link.group(1).replace("&amp;", "&"), follow_redirects=False)
    assert back.status_code == 303
    assert back.headers["location"] == f"/resources/{booking.resource_id}?lang=nb"
    assert reservations(booking) == []


def test_booking__without_the_forms_csrf_token__is_refused(booking: Booking) -> None:
    hidden = form_of(page(booking, f"/resources/{booking.resource_id}").text)
    forged = {**hidden, "csrf": "x" * 43}
    fields = {"start": "2026-05-05T18:00", "end": "2026-05-05T19:00", **KARI}
    refused = post_booking(booking, booking.resource_id, forged, **fields)
    assert refused.status_code == 403
    assert reservations(booking) == []
    expired = post_booking(booking, booking.resource_id, {**hidden, "form_token": "x"}, **fields)
    assert expired.status_code == 400
    assert "Skjemaet er utløpt" in expired.text
    assert reservations(booking) == []


def test_booking__a_taken_time__is_a_409_page_with_the_week_again(booking: Booking) -> None:
    body = reservation_body(booking.resource_id, "2026-05-05T16:00:00Z", "2026-05-05T17:00:00Z")
    made = booking.client.post("/api/v1/reservations", json=body, headers=booking.headers())
    assert made.status_code == 201
    fields = {"start": "2026-05-05T18:30", "end": "2026-05-05T20:00", **KARI}
    taken = post_booking(booking, booking.resource_id, **fields)
    assert taken.status_code == 409
    assert "Tiden er opptatt" in taken.text
    assert "tirsdag 5. mai 2026" in taken.text  # the week of the wanted time, from its day
    assert '<li class="taken"><span class="when">18:00\u201319:00' in taken.text
    assert 'value="2026-05-05T18:30"' in taken.text
    assert len(reservations(booking)) == 1


def test_booking__approval_needed__says_requested(booking: Booking) -> None:
    fields = {"start": "2026-05-06T18:00", "end": "2026-05-06T19:00", **KARI}
    sent = post_booking(booking, booking.approval_resource_id, **fields, lang="en")
    assert sent.status_code == 303
    shown = page(booking, sent.headers["location"] + "&lang=en").text
    assert "Booking requested" in shown and "a case officer will decide" in shown
    assert [r.status for r in reservations(booking)] == ["requested"]


def test_confirmation__only_with_its_own_unexpired_token(booking: Booking) -> None:
    fields = {"start": "2026-05-05T18:00", "end": "2026-05-05T19:00", **KARI}
    target = post_booking(booking, booking.resource_id, **fields).headers["location"]
    [made] = reservations(booking)
    assert booking.client.get(f"/reservations/{made.id}/confirmation").status_code == 404
    other = signed.issue(booking.ctx, signed.CONFIRMATION, "bkg_other", timedelta(hours=1))
    assert booking.client.get(f"/reservations/{made.id}/confirmation?t={other}").status_code == 404
    form_token = signed.issue(booking.ctx, signed.FORM, made.id, timedelta(hours=1))
    wrong_kind = booking.client.get(f"/reservations/{made.id}/confirmation?t={form_token}")
    assert wrong_kind.status_code == 404
    shown = page(booking, target).text
    # The language link keeps the token: the same confirmation, in English.
    link = re.search(r'<a href="([^"]*)" hreflang="en"', shown)
    assert link is not None
    assert "Booking confirmed" in page(booking, link.group(1).replace("&amp;", "&")).text
    booking.clock.advance(signed.CONFIRMATION_LIFETIME + timedelta(seconds=1))
    assert booking.client.get(target).status_code == 404


def test_booking__dst__wall_times_in_oslo__a_skipped_hour_is_refused(booking: Booking) -> None:
    # 25 Oct 2026 the clocks go back: 18:00 is 17:00 UTC; 29 Mar 2027 02:30 never shows.
    fields = {"start": "2026-10-25T18:00", "end": "2026-10-25T19:00", **KARI}
    assert post_booking(booking, booking.resource_id, **fields).status_code == 303
    [made] = reservations(booking)
    assert made.start_at == datetime(2026, 10, 25, 17, 0, tzinfo=UTC)
    skipped = post_booking(
        booking, booking.resource_id, start="2027-03-28T02:30", end="2027-03-28T04:00", **KARI
    )
    assert skipped.status_code == 422
    assert re.search(r'id="f-start-error">Dette klokkeslettet finnes ikke', skipped.text)
    autumn = page(booking, f"/resources/{booking.resource_id}?from=2026-10-25").text
    assert '<li class="taken"><span class="when">18:00\u201319:00' in autumn


def test_price_preview__shows_what_the_chosen_time_costs(booking: Booking) -> None:
    shown = page(
        booking,
        f"/resources/{booking.resource_id}",
        params={"start": "2026-05-05T18:00", "end": "2026-05-05T20:00"},
    ).text
    assert "Pris for denne tiden: 500,00\xa0kr" in shown
    hidden = form_of(shown)
    quoted = booking.client.post(
        f"/resources/{booking.resource_id}/book",
        data={**hidden, "action": "quote", "start": "2026-05-05T18:00", "end": "2026-05-05T18:30"},
    )
    assert quoted.status_code == 200
    assert "Pris for denne tiden: 125,00\xa0kr" in quoted.text
    assert reservations(booking) == []


def test_booking__a_signed_in_customer__finds_the_form_filled_in_and_books_as_themself(
    booking: Booking,
) -> None:
    body = reservation_body(
        booking.resource_id, "2026-05-04T10:00:00Z", "2026-05-04T11:00:00Z", customer=KARI
    )
    assert (
        booking.client.post(
            "/api/v1/reservations", json=body, headers=booking.headers()
        ).status_code
        == 201
    )
    sign_in(booking)
    html = page(booking, f"/resources/{booking.resource_id}").text
    assert 'value="Kari Nordmann"' in html and 'value="kari@example.no"' in html
    picked = page(
        booking,
        f"/resources/{booking.resource_id}",
        params={"start": "2026-05-06T18:00", "end": "2026-05-06T19:00"},
    ).text
    assert 'value="Kari Nordmann"' in picked and 'value="2026-05-06T18:00"' in picked
    fields = {
        "start": "2026-05-06T18:00",
        "end": "2026-05-06T19:00",
        **KARI,
        "name": "Kari O. Nordmann",
    }
    assert post_booking(booking, booking.resource_id, **fields).status_code == 303
    with booking.ctx.database.read() as session:
        kari = session.scalars(select(Customer).where(Customer.email == KARI["email"])).one()
        assert kari.name == "Kari O. Nordmann"  # proven: their record follows


def test_booking__the_same_form_sent_twice_at_once__books_once(booking: Booking) -> None:
    hidden = form_of(page(booking, f"/resources/{booking.resource_id}").text)
    cookies = dict(booking.client.cookies.items())
    data = {**hidden, "action": "book", "start": "2026-05-07T18:00", "end": "2026-05-07T19:00"}
    data |= KARI
    answers: list[httpx.Response] = []
    lock = threading.Lock()
    barrier = threading.Barrier(2)

    with serving(booking.client.app) as server:

        def send() -> None:
            with httpx.Client(base_url=server.base_url, cookies=cookies, timeout=60) as client:
                barrier.wait()
                answer = client.post(
                    f"/resources/{booking.resource_id}/book", data=data, headers=HOST
                )
            with lock:
                answers.append(answer)

        threads = [threading.Thread(target=send) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    [made] = reservations(booking)
    assert [a.status_code for a in answers] == [303, 303], [a.text for a in answers]
    assert {a.headers["location"].split("?")[0] for a in answers} == {
        f"/reservations/{made.id}/confirmation"
    }


def test_front__tenant_by_slug__its_links_and_its_booking_keep_the_tenant(
    booking: Booking,
) -> None:
    # No host name of a tenant: `?tenant=` tells which, and every link and form carries it.
    plain = {"Host": "testserver"}
    assert booking.client.get("/", headers=plain).status_code == 400
    front = booking.client.get("/?tenant=annenby", headers=plain)
    assert front.status_code == 200
    other = booking.other_resource_id
    assert f'href="/resources/{other}?tenant=annenby"' in front.text
    shown = booking.client.get(f"/resources/{other}?tenant=annenby", headers=plain).text
    assert f'action="/resources/{other}/book?tenant=annenby"' in shown
    assert "&amp;tenant=annenby#book" in shown and 'rel="next"' in shown
    data = {
        **form_of(shown),
        "action": "book",
        "start": "2026-05-05T18:00",
        "end": "2026-05-05T19:00",
    }
    sent = booking.client.post(
        f"/resources/{other}/book?tenant=annenby",
        data=data | KARI,
        headers=plain,
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text
    assert sent.headers["location"].endswith("&tenant=annenby")
    done = booking.client.get(sent.headers["location"], headers=plain)
    assert "Bookingen er bekreftet" in done.text and 'href="/?tenant=annenby"' in done.text
    # The same confirmation asked for as the other tenant is unknown there.
    elsewhere = sent.headers["location"].replace("annenby", "testby")
    assert booking.client.get(elsewhere, headers=plain).status_code == 404
