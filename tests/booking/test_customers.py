"""A customer's data through HTTP: exported whole, erased without losing the reservations."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import inspect, text

from hallkey.booking.models import Customer
from tests.booking.conftest import Booking, reservation_body

START = "2026-05-04T10:00:00Z"
END = "2026-05-04T12:00:00Z"
PERSON = {
    "name": "Zebulon Quixwhistle",
    "phone": "+47 413 57 986",
    "email": "zq.erase@example.net",
    "organisation": "Quixwhistle IL",
    "org_number": "974760673",
}


def book(booking: Booking, start: str = START, end: str = END) -> Any:
    body = reservation_body(booking.resource_id, start, end, customer=PERSON)
    response = booking.client.post("/api/v1/reservations", json=body, headers=booking.headers())
    assert response.status_code == 201, response.text
    return response.json()


def export(booking: Booking, customer_id: str, token: str | None = None) -> Any:
    return booking.client.get(f"/api/v1/customers/{customer_id}", headers=booking.headers(token))


def erase(booking: Booking, customer_id: str, token: str | None = None) -> Any:
    return booking.client.post(
        f"/api/v1/customers/{customer_id}/erase", headers=booking.headers(token)
    )


def database_text(booking: Booking) -> str:
    """Every row of every table of the booking database, as one text."""
    with booking.ctx.database.engine.connect() as connection:
        tables = inspect(connection).get_table_names()
        rows = [
            str(tuple(row))
            for table in tables
            for row in connection.execute(text(f'SELECT * FROM "{table}"'))
        ]
    return "\n".join(rows)


def test_export__holds_the_person_and_every_reservation(booking: Booking) -> None:
    first = book(booking)
    second = book(booking, "2026-05-05T10:00:00Z", "2026-05-05T11:00:00Z")
    customer_id = first["customer"]["id"]
    assert second["customer"]["id"] == customer_id

    response = export(booking, customer_id)

    assert response.status_code == 200, response.text
    data = response.json()
    assert {key: data[key] for key in ("name", "phone", "email", "organisation", "org_number")} == {
        **PERSON,
        "phone": "+4741357986",
    }
    assert data["erased_at"] is None
    assert [(r["id"], r["ref"], r["start"]) for r in data["reservations"]] == [
        (first["id"], first["ref"], START),
        (second["id"], second["ref"], "2026-05-05T10:00:00Z"),
    ]


def test_erase__while_a_reservation_is_not_over__is_409_and_changes_nothing(
    booking: Booking,
) -> None:
    created = book(booking)
    customer_id = created["customer"]["id"]
    before = export(booking, customer_id).json()

    booking.clock.set(booking.clock.now().replace(hour=11))  # the booking is under way
    response = erase(booking, customer_id)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "customer_has_open_reservations"
    assert export(booking, customer_id).json() == before


def test_erase__removes_the_person_everywhere_but_keeps_reservations_and_refs(
    booking: Booking,
) -> None:
    past = book(booking)
    cancelled = book(booking, "2026-05-06T10:00:00Z", "2026-05-06T11:00:00Z")
    booking.client.post(f"/api/v1/reservations/{cancelled['id']}/cancel", headers=booking.headers())
    customer_id = past["customer"]["id"]
    booking.clock.advance(timedelta(hours=7))  # the first booking is over

    response = erase(booking, customer_id)

    assert response.status_code == 200, response.text
    erased = response.json()
    assert erased["erased_at"] is not None
    assert [erased[k] for k in ("name", "phone", "email", "organisation", "org_number")] == [
        None
    ] * 5
    assert [r["ref"] for r in erased["reservations"]] == [past["ref"], cancelled["ref"]]
    kept = booking.client.get(f"/api/v1/reservations/{past['id']}", headers=booking.headers())
    assert kept.status_code == 200
    assert kept.json()["ref"] == past["ref"]
    assert kept.json()["customer"] == {"id": customer_id, "name": None, "phone": None,
                                       "email": None}  # fmt: skip
    stored = database_text(booking)
    for needle in ("Zebulon", "Quixwhistle", "41357986", "zq.erase", "974760673"):
        assert needle not in stored
    assert erase(booking, customer_id).json() == erased  # erasing twice changes nothing


def test_erase__same_email_books_again_as_a_new_customer(booking: Booking) -> None:
    first = book(booking)
    booking.clock.advance(timedelta(hours=7))
    assert erase(booking, first["customer"]["id"]).status_code == 200

    again = book(booking, "2026-05-07T10:00:00Z", "2026-05-07T11:00:00Z")

    assert again["customer"]["id"] != first["customer"]["id"]
    assert again["customer"]["name"] == PERSON["name"]
    assert booking.count(Customer) == 2


def test_customers__of_another_tenant__are_404(booking: Booking) -> None:
    customer_id = book(booking)["customer"]["id"]
    booking.clock.advance(timedelta(hours=7))
    assert export(booking, customer_id, booking.other_token).status_code == 404
    assert erase(booking, customer_id, booking.other_token).status_code == 404
    assert export(booking, "cus_nope").status_code == 404
    assert export(booking, customer_id).json()["name"] == PERSON["name"]


def test_booking__with_someone_elses_email__never_changes_their_record_or_shows_in_their_export(
    booking: Booking,
) -> None:
    own = book(booking)
    customer_id = own["customer"]["id"]
    before = export(booking, customer_id).json()
    impostor = {
        "name": "Mallory Impostor",
        "phone": "+47 909 87 654",
        "email": PERSON["email"].upper(),
        "organisation": "Mallory AS",
        "org_number": "971524960",
    }
    body = reservation_body(
        booking.resource_id, "2026-05-05T10:00:00Z", "2026-05-05T11:00:00Z", customer=impostor
    )
    response = booking.client.post("/api/v1/reservations", json=body, headers=booking.headers())
    assert response.status_code == 201, response.text
    theirs = response.json()
    # The booking keeps its own contact: the key goes to the booker's phone.
    assert theirs["customer"] == {
        "id": customer_id,
        "name": "Mallory Impostor",
        "phone": "+4790987654",
        "email": PERSON["email"],
    }

    after = export(booking, customer_id).json()
    fields = ("name", "phone", "email", "organisation", "org_number")
    assert {k: after[k] for k in fields} == {k: before[k] for k in fields}
    listed = {r["id"]: r for r in after["reservations"]}
    assert listed[own["id"]]["contact_withheld"] is False
    assert listed[own["id"]]["contact_name"] == PERSON["name"]
    assert listed[theirs["id"]] == {
        **listed[theirs["id"]],
        "contact_name": None,
        "contact_phone": None,
        "contact_email": PERSON["email"],
        "contact_withheld": True,
    }
    assert "Mallory" not in export(booking, customer_id).text
    assert "90987654" not in export(booking, customer_id).text
