"""Customers kept by staff through HTTP: persons and organisations (org number checked),
contact persons, price groups, search and pages, tenant isolation, export and erasure."""

from __future__ import annotations

from typing import Any

from hallkey.booking import issue_api_token
from hallkey.booking.models import CustomerContact
from tests.booking.conftest import Booking

CUSTOMERS = "/api/v1/customers"
CLUB = {
    "kind": "organisation",
    "name": "Testby IL",
    "email": "post@testby-il.no",
    "phone": "412 34 567",
    "organisation": "Testby Idrettslag",
    "org_number": "974760673",
    "contacts": [
        {"name": "Ola Leder", "phone": "+47 413 57 986", "email": "ola@testby-il.no"},
        {"name": "Kari Kasserer"},
    ],
}


def create(booking: Booking, body: dict[str, Any], token: str | None = None) -> Any:
    return booking.client.post(CUSTOMERS, json=body, headers=booking.headers(token))


def setup_token(booking: Booking) -> str:
    with booking.ctx.database.transaction() as session:
        return issue_api_token(
            booking.ctx, session, tenant_id=booking.tenant_id, name="setup", scopes=["setup"]
        )


def test_customers__organisation_with_contacts__created_shown_and_exported(
    booking: Booking,
) -> None:
    made = create(booking, CLUB)
    assert made.status_code == 201, made.text
    club = made.json()
    assert club["kind"] == "organisation" and club["org_number"] == "974760673"
    assert [(c["name"], c["phone"]) for c in club["contacts"]] == [
        ("Ola Leder", "+4741357986"),
        ("Kari Kasserer", None),
    ]
    exported = booking.client.get(f"{CUSTOMERS}/{club['id']}", headers=booking.headers()).json()
    assert [c["name"] for c in exported["contacts"]] == ["Ola Leder", "Kari Kasserer"]
    assert exported["kind"] == "organisation"


def test_customers__org_number__checked_with_its_check_digit(booking: Booking) -> None:
    for bad in ("974760674", "12345678", "97476067A", "123456789"):
        response = create(booking, {**CLUB, "org_number": bad})
        assert response.status_code == 422, (bad, response.text)
        assert response.json()["error"]["field"] == "org_number"
    spaced = create(booking, {**CLUB, "org_number": "974 760 673"})
    assert spaced.status_code == 201 and spaced.json()["org_number"] == "974760673"
    # A booking's customer is checked the same way.
    body = {
        "resource_id": booking.resource_id,
        "start": "2026-05-05T10:00:00Z",
        "end": "2026-05-05T11:00:00Z",
        "customer": {
            "name": "X",
            "phone": "412 34 567",
            "email": "x@example.no",
            "org_number": "974760674",
        },
    }
    booked = booking.client.post("/api/v1/reservations", json=body, headers=booking.headers())
    assert booked.status_code == 422
    assert booked.json()["error"]["field"] == "customer.org_number"


def test_customers__bad_bodies__422_naming_the_field_and_nothing_stored(booking: Booking) -> None:
    cases: dict[str, dict[str, Any]] = {
        "org_number": {**CLUB, "org_number": None},
        "kind": {"kind": "person", "name": "P", "email": "p@example.no", "org_number": "974760673"},
        "email": {**CLUB, "email": "nope"},
        "contacts.0.phone": {**CLUB, "contacts": [{"name": "A", "phone": "12"}]},
        "price_group": {**CLUB, "price_group": "nonexistent"},
    }
    for field, body in cases.items():
        response = create(booking, body)
        assert response.status_code == 422, (field, response.text)
        assert response.json()["error"]["field"] == field, (field, response.text)
    assert booking.count(CustomerContact) == 0
    assert create(booking, CLUB).status_code == 201
    again = create(booking, {**CLUB, "name": "Another"})
    assert again.status_code == 409 and again.json()["error"]["field"] == "email"


def test_customers__patch__price_group_contacts_and_kind(booking: Booking) -> None:
    groups = booking.client.post(
        "/api/v1/price-groups",
        json={"key": "youth", "name": "Youth"},
        headers=booking.headers(setup_token(booking)),
    )
    assert groups.status_code == 201, groups.text
    club = create(booking, CLUB).json()
    url = f"{CUSTOMERS}/{club['id']}"
    patched = booking.client.patch(
        url,
        json={"price_group": "youth", "contacts": [{"name": "Nils Ny"}]},
        headers=booking.headers(),
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["price_group"] == "youth"
    assert [c["name"] for c in patched.json()["contacts"]] == ["Nils Ny"]
    cleared = booking.client.patch(url, json={"price_group": None}, headers=booking.headers())
    assert cleared.json()["price_group"] is None
    # A person has neither an org number nor contacts: refused, and nothing changed.
    person = booking.client.patch(url, json={"kind": "person"}, headers=booking.headers())
    assert person.status_code == 422 and person.json()["error"]["field"] == "kind"
    got = booking.client.get(f"{CUSTOMERS}/{club['id']}", headers=booking.headers()).json()
    assert got["kind"] == "organisation" and [c["name"] for c in got["contacts"]] == ["Nils Ny"]
    # Another tenant cannot touch it.
    other = booking.client.patch(
        url, json={"name": "X"}, headers=booking.headers(booking.other_token)
    )
    assert other.status_code == 404


def test_customers__search_by_email_name_org_number__paged(booking: Booking) -> None:
    made = [
        create(
            booking, {"kind": "person", "name": f"Person {i}", "email": f"p{i}@example.no"}
        ).json()["id"]
        for i in range(5)
    ]
    club = create(booking, CLUB).json()["id"]

    def search(**params: Any) -> Any:
        response = booking.client.get(CUSTOMERS, params=params, headers=booking.headers())
        assert response.status_code == 200, response.text
        return response.json()

    assert [c["id"] for c in search(q="p3@example")["items"]] == [made[3]]
    assert [c["id"] for c in search(q="PERSON 1")["items"]] == [made[1]]
    assert [c["id"] for c in search(q="idrettslag")["items"]] == [club]
    assert [c["id"] for c in search(org_number="974 760 673")["items"]] == [club]
    assert [c["id"] for c in search(kind="organisation")["items"]] == [club]
    assert search(q="%")["items"] == []  # a wildcard is a character like any other
    seen: list[str] = []
    page = search(limit=2)
    while True:
        seen += [c["id"] for c in page["items"]]
        if page["next_cursor"] is None:
            break
        page = search(limit=2, cursor=page["next_cursor"])
    assert sorted(seen) == sorted([*made, club]) and len(seen) == 6
    other = booking.client.get(CUSTOMERS, headers=booking.headers(booking.other_token))
    assert other.json()["items"] == []
    bad = booking.client.get(CUSTOMERS, params={"org_number": "12"}, headers=booking.headers())
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "org_number"


def test_customers__erase__deletes_contact_persons(booking: Booking) -> None:
    club = create(booking, CLUB).json()
    erased = booking.client.post(f"{CUSTOMERS}/{club['id']}/erase", headers=booking.headers())
    assert erased.status_code == 200, erased.text
    assert erased.json()["contacts"] == [] and erased.json()["org_number"] is None
    assert booking.count(CustomerContact) == 0
    patched = booking.client.patch(
        f"{CUSTOMERS}/{club['id']}", json={"name": "Back"}, headers=booking.headers()
    )
    assert patched.status_code == 409


def test_price_groups__setup_scope_unique_keys_and_tenants(booking: Booking) -> None:
    token = setup_token(booking)
    url = "/api/v1/price-groups"
    made = booking.client.post(
        url, json={"key": "private", "name": "Private"}, headers=booking.headers(token)
    )
    assert made.status_code == 201 and made.json()["requires_approval"] is False
    dup = booking.client.post(
        url, json={"key": "private", "name": "Again"}, headers=booking.headers(token)
    )
    assert dup.status_code == 409 and dup.json()["error"]["field"] == "key"
    bad = booking.client.post(
        url, json={"key": "Not OK", "name": "x"}, headers=booking.headers(token)
    )
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "key"
    # The staff bundle does not set the tenant up.
    assert booking.client.get(url, headers=booking.headers()).status_code == 403
    listed = booking.client.get(url, headers=booking.headers(token)).json()
    assert [g["key"] for g in listed] == ["private"]
    missing = booking.client.patch(
        f"{url}/nope", json={"name": "x"}, headers=booking.headers(token)
    )
    assert missing.status_code == 404
