"""The case officers' desk through HTTP: the reservation list with its filters, cursor pages
and limits; decisions with their actor, time and reason; approval by price group."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from hallkey.booking import desk, issue_api_token
from hallkey.booking.models import ApiToken, Reservation
from hallkey.booking.office_repository import ReservationFilter
from hallkey.booking.tokens import Principal
from hallkey.core.errors import NotFound
from tests.booking.conftest import T0, Booking, reservation_body

LIST = "/api/v1/reservations"


def book(booking: Booking, resource_id: str, day: int, hour: int = 10, **customer: str) -> Any:
    start = f"2026-05-{day:02d}T{hour:02d}:00:00Z"
    end = f"2026-05-{day:02d}T{hour + 1:02d}:00:00Z"
    body = reservation_body(resource_id, start, end)
    if customer:
        body["customer"] = {**body["customer"], **customer}
    response = booking.client.post("/api/v1/reservations", json=body, headers=booking.headers())
    assert response.status_code == 201, response.text
    return response.json()


def listing(booking: Booking, token: str | None = None, **params: Any) -> Any:
    response = booking.client.get(LIST, params=params, headers=booking.headers(token))
    assert response.status_code == 200, response.text
    return response.json()


def ids(page: Any) -> list[str]:
    return [item["id"] for item in page["items"]]


def test_list__filters_by_status_resource_customer_and_range(booking: Booking) -> None:
    a = book(booking, booking.resource_id, 5)
    b = book(booking, booking.approval_resource_id, 6)
    c = book(booking, booking.approval_resource_id, 7, email="other@example.no")
    d = book(booking, booking.resource_id, 8)
    assert ids(listing(booking)) == [a["id"], b["id"], c["id"], d["id"]]
    requested = listing(booking, status="requested")
    assert ids(requested) == [b["id"], c["id"]]
    assert requested["items"][0]["venue_id"].startswith("ven_")
    assert ids(listing(booking, resource=booking.resource_id)) == [a["id"], d["id"]]
    assert ids(listing(booking, customer=c["customer"]["id"])) == [c["id"]]
    # `from`/`to` keep the reservations overlapping the range (half-open).
    page = listing(booking, **{"from": "2026-05-06T10:30:00Z", "to": "2026-05-07T10:00:00Z"})
    assert ids(page) == [b["id"]]
    venue = requested["items"][0]["venue_id"]
    assert ids(listing(booking, status="requested", venue=venue)) == [b["id"], c["id"]]
    assert ids(listing(booking, venue="ven_nowhere")) == []


def test_list__cursor_pages__are_stable_and_complete(booking: Booking) -> None:
    made = [book(booking, booking.resource_id, 5, hour)["id"] for hour in range(8, 15)]
    seen: list[str] = []
    page = listing(booking, limit=3)
    pages = 1
    # A reservation added before the cursor's position does not shift the pages after it.
    book(booking, booking.hours_resource_id, 4, 9)
    while page["next_cursor"] is not None:
        seen += ids(page)
        page = listing(booking, limit=3, cursor=page["next_cursor"])
        pages += 1
    seen += ids(page)
    assert seen == made and pages == 3


def test_list__bad_filters__are_4xx_naming_the_filter(booking: Booking) -> None:
    cases = {
        "status": {"status": "maybe"},
        "limit": {"limit": 0},
        "from": {"from": "yesterday"},
        "to": {"from": "2026-05-06T10:00:00Z", "to": "2026-05-05T10:00:00Z"},
        "cursor": {"cursor": "not-a-cursor"},
    }
    for field, params in cases.items():
        response = booking.client.get(LIST, params=params, headers=booking.headers())
        assert response.status_code in (400, 422), (field, response.text)
        assert response.json()["error"]["field"] == field, (field, response.text)
    assert booking.client.get(LIST, params={"limit": 201}, headers=booking.headers()).is_error


def test_list__other_tenant_and_scopes__see_nothing_of_mine(booking: Booking) -> None:
    book(booking, booking.resource_id, 5)
    assert listing(booking, booking.other_token)["items"] == []
    with booking.ctx.database.transaction() as session:
        decide_only = issue_api_token(
            booking.ctx, session, tenant_id=booking.tenant_id, name="d", scopes=["decide"]
        )
    response = booking.client.get(LIST, headers=booking.headers(decide_only))
    assert response.status_code == 403


def test_deny__with_reason__is_kept_shown_and_repeat_is_idempotent(booking: Booking) -> None:
    request = book(booking, booking.approval_resource_id, 6)
    assert request["status"] == "requested" and request["decision"] is None
    url = f"/api/v1/reservations/{request['id']}"
    booking.clock.advance(timedelta(minutes=5))
    denied = booking.client.post(
        f"{url}/deny", json={"reason": "The hall is being painted."}, headers=booking.headers()
    )
    assert denied.status_code == 200, denied.text
    with booking.ctx.database.transaction() as session:
        token_id = session.scalars(select(ApiToken.id).where(ApiToken.name == "portal")).first()
    decision = {
        "by": f"token:{token_id}",
        "at": (T0 + timedelta(minutes=5)).isoformat().replace("+00:00", "Z"),
        "reason": "The hall is being painted.",
    }
    assert denied.json()["status"] == "denied"
    assert denied.json()["decision"] == decision
    assert booking.client.get(url, headers=booking.headers()).json()["decision"] == decision
    listed = listing(booking, status="denied")["items"]
    assert [(item["id"], item["decision"]) for item in listed] == [(request["id"], decision)]

    booking.clock.advance(timedelta(minutes=5))
    again = booking.client.post(f"{url}/deny", json={"reason": "other"}, headers=booking.headers())
    assert again.status_code == 200 and again.json()["decision"] == decision
    opposite = booking.client.post(f"{url}/approve", headers=booking.headers())
    assert opposite.status_code == 409
    # A denied request never got a key: nothing was sent to the hub.
    with booking.ctx.database.transaction() as session:
        stored = session.get(Reservation, request["id"])
        assert stored is not None and stored.access_requested_at is None


def test_deny__without_or_with_a_bad_reason__is_422_and_changes_nothing(booking: Booking) -> None:
    request = book(booking, booking.approval_resource_id, 6)
    url = f"/api/v1/reservations/{request['id']}/deny"
    for body in (
        None,
        {},
        {"reason": ""},
        {"reason": "   "},
        {"reason": "x" * 1001},
        {"reason": "ok\u202e"},
        {"reason": "ok", "extra": 1},
    ):
        response = booking.client.post(url, json=body, headers=booking.headers())
        assert response.status_code == 422, (body, response.text)
        if body:
            assert response.json()["error"]["field"] in ("reason", "extra"), response.text
    got = booking.client.get(f"/api/v1/reservations/{request['id']}", headers=booking.headers())
    assert got.json()["status"] == "requested"


def test_approve_and_cancel__take_an_optional_strict_body(booking: Booking) -> None:
    request = book(booking, booking.approval_resource_id, 6)
    url = f"/api/v1/reservations/{request['id']}"
    bad = booking.client.post(f"{url}/approve", json={"whatever": 1}, headers=booking.headers())
    assert bad.status_code == 422
    approved = booking.client.post(
        f"{url}/approve", json={"reason": "Welcome"}, headers=booking.headers()
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["decision"]["reason"] == "Welcome"
    assert approved.json()["status"] == "confirmed"
    # Approved now: the sync job that asks the hub for its key is queued.
    with booking.ctx.database.transaction() as session:
        kinds = session.execute(text("SELECT kind FROM booking_jobs")).scalars().all()
    assert "sync_access" in kinds
    bad_cancel = booking.client.post(f"{url}/cancel", json={"x": 1}, headers=booking.headers())
    assert bad_cancel.status_code == 422
    assert (
        booking.client.post(f"{url}/cancel", json={}, headers=booking.headers()).status_code == 200
    )


def test_approval__required_by_the_customers_price_group(booking: Booking) -> None:
    staff = booking.headers()
    with booking.ctx.database.transaction() as session:
        setup_token = issue_api_token(
            booking.ctx, session, tenant_id=booking.tenant_id, name="s", scopes=["setup"]
        )
    made = booking.client.post(
        "/api/v1/price-groups",
        json={"key": "business", "name": "Business", "requires_approval": True},
        headers=booking.headers(setup_token),
    )
    assert made.status_code == 201, made.text
    customer = booking.client.post(
        "/api/v1/customers",
        json={
            "kind": "organisation",
            "name": "Firma AS",
            "email": "post@firma.no",
            "org_number": "974 760 673",
            "price_group": "business",
        },
        headers=staff,
    )
    assert customer.status_code == 201, customer.text
    # The resource needs no approval, but the business group does.
    theirs = book(booking, booking.resource_id, 6, name="Firma AS", email="post@firma.no")
    assert theirs["status"] == "requested"
    assert book(booking, booking.resource_id, 7)["status"] == "confirmed"
    # Once the group no longer requires it, their bookings are confirmed at once.
    patched = booking.client.patch(
        "/api/v1/price-groups/business",
        json={"requires_approval": False},
        headers=booking.headers(setup_token),
    )
    assert patched.status_code == 200 and patched.json()["requires_approval"] is False
    assert book(booking, booking.resource_id, 8, email="post@firma.no")["status"] == "confirmed"


def test_list__venue_limited_caller__sees_only_its_venues(booking: Booking) -> None:
    made = book(booking, booking.resource_id, 5)
    venue = listing(booking)["items"][0]["venue_id"]

    def seen(venues: frozenset[str]) -> list[str]:
        caller = Principal(
            tenant_id=booking.tenant_id,
            actor="staff:x",
            scopes=frozenset({"reservations"}),
            role="caretaker",
            venue_ids=venues,
        )
        where = ReservationFilter(tenant_id=booking.tenant_id, venue_ids=caller.venue_ids)
        with booking.ctx.database.read() as session:
            page = desk.list_reservations(session, caller, where, cursor=None, limit=10)
            if venues:
                desk.check_venue(session, caller, made["id"])
        return [item.id for item in page.items]

    assert seen(frozenset({venue})) == [made["id"]]
    assert seen(frozenset()) == []
    with pytest.raises(NotFound):
        seen(frozenset({"ven_elsewhere"}))
