"""The booking set-up API: the operator's tenants and tokens, venues and resources with their
rules, for the operator (naming the tenant) or a tenant's own `setup` token."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from hallkey.booking import issue_api_token, issue_operator_key
from hallkey.booking.models import Reservation, Resource, Tenant, Venue
from tests.booking.conftest import T0, Booking, reservation_body


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _operator(booking: Booking) -> dict[str, str]:
    with booking.ctx.database.transaction() as session:
        _, key = issue_operator_key(booking.ctx, session, name="test")
    return {"Authorization": f"Bearer {key}"}


def _setup_token(booking: Booking, tenant_id: str | None = None) -> dict[str, str]:
    with booking.ctx.database.transaction() as session:
        token = issue_api_token(
            booking.ctx,
            session,
            tenant_id=tenant_id or booking.tenant_id,
            name="s",
            scopes=["setup"],
        )
    return {"Authorization": f"Bearer {token}"}


def _venue(booking: Booking, headers: dict[str, str], **params: str) -> Any:
    made = booking.client.post(
        "/api/v1/venues",
        json={"name": "Nyhallen", "address": "Nyveien 1", "timezone": "Europe/Oslo"},
        headers=headers,
        params=params,
    )
    assert made.status_code == 201, made.text
    return made.json()


def _resource(booking: Booking, headers: dict[str, str], **body: Any) -> Any:
    made = booking.client.post("/api/v1/resources", json=body, headers=headers)
    assert made.status_code == 201, made.text
    return made.json()


def test_setup__setup_token__creates_venue_and_resource_that_can_be_booked(
    booking: Booking,
) -> None:
    headers = _setup_token(booking)
    venue = _venue(booking, headers)
    resource = _resource(
        booking,
        headers,
        venue_id=venue["id"],
        name="Nyhallen A",
        door_ids=["ny-1"],
        max_booking_minutes=120,
        opening_hours={"mon": [["08:00", "20:00"]]},
    )
    assert resource["max_booking_minutes"] == 120
    assert resource["credential"] == "pin" and resource["active"] is True
    listed = booking.client.get("/api/v1/venues", headers=headers).json()
    assert [r["name"] for v in listed if v["id"] == venue["id"] for r in v["resources"]] == [
        "Nyhallen A"
    ]
    offered = booking.client.get("/api/v1/resources", params={"tenant": "testby"}).json()
    assert resource["id"] in {r["id"] for r in offered}


def test_setup__staff_token__is_refused_with_insufficient_scope(booking: Booking) -> None:
    answer = booking.client.post("/api/v1/venues", json={"name": "X"}, headers=booking.headers())
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "insufficient_scope"


def test_setup__operator_key__must_name_the_tenant_and_acts_for_it(booking: Booking) -> None:
    operator = _operator(booking)
    unnamed = booking.client.post("/api/v1/venues", json={"name": "X"}, headers=operator)
    assert unnamed.status_code == 400 and unnamed.json()["error"]["field"] == "tenant"
    venue = _venue(booking, operator, tenant="annenby")
    with booking.ctx.database.transaction() as session:
        row = session.get(Venue, venue["id"])
        assert row is not None and row.tenant_id != booking.tenant_id


def test_setup__other_tenants_venue_or_resource__is_unknown(booking: Booking) -> None:
    headers = _setup_token(booking)
    other = booking.client.patch(
        f"/api/v1/resources/{booking.other_resource_id}", json={"name": "Mine"}, headers=headers
    )
    assert other.status_code == 404
    named = booking.client.get("/api/v1/venues", headers=headers, params={"tenant": "annenby"})
    assert named.status_code == 403


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"min_booking_minutes": 2000}, "min_booking_minutes"),
        ({"horizon_days": 0}, "horizon_days"),
        ({"credential": "fingerprint"}, "credential"),
        ({"access_operation": "open_wide"}, "access_operation"),
        ({"door_ids": []}, "door_ids"),
        ({"door_ids": ["a door"]}, "door_ids"),
        ({"opening_hours": {"funday": [["08:00", "10:00"]]}}, "opening_hours"),
        ({"opening_hours": {"mon": [["10:00", "08:00"]]}}, "opening_hours"),
        ({"access_before_minutes": -1}, "access_before_minutes"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_setup__bad_rule__is_refused_naming_the_field_and_changes_nothing(
    booking: Booking, patch: dict[str, Any], field: str
) -> None:
    headers = _setup_token(booking)
    with booking.ctx.database.transaction() as session:
        before = session.get(Resource, booking.resource_id)
        assert before is not None
        snapshot = (before.min_booking_minutes, before.door_ids, before.opening_hours)
    answer = booking.client.patch(
        f"/api/v1/resources/{booking.resource_id}", json=patch, headers=headers
    )
    assert answer.status_code in (400, 422), answer.text
    assert answer.json()["error"]["field"].endswith(field)
    with booking.ctx.database.transaction() as session:
        after = session.get(Resource, booking.resource_id)
        assert after is not None
        assert (after.min_booking_minutes, after.door_ids, after.opening_hours) == snapshot


def test_setup__deactivated_resource__is_not_offered_and_takes_no_booking_but_keeps_its_own(
    booking: Booking,
) -> None:
    body = reservation_body(booking.resource_id, "2026-11-26T10:00:00Z", "2026-11-26T11:00:00Z")
    kept = booking.client.post("/api/v1/reservations", json=body, headers=booking.headers())
    assert kept.status_code == 201, kept.text
    headers = _setup_token(booking)
    off = booking.client.patch(
        f"/api/v1/resources/{booking.resource_id}", json={"active": False}, headers=headers
    )
    assert off.status_code == 200 and off.json()["active"] is False
    offered = booking.client.get("/api/v1/resources", params={"tenant": "testby"}).json()
    assert booking.resource_id not in {r["id"] for r in offered}
    body = reservation_body(booking.resource_id, "2026-11-27T10:00:00Z", "2026-11-27T11:00:00Z")
    refused = booking.client.post("/api/v1/reservations", json=body, headers=booking.headers())
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "resource_id"
    still = booking.client.get(
        f"/api/v1/reservations/{kept.json()['id']}", headers=booking.headers()
    )
    assert still.status_code == 200


def test_setup__access_operation__set_on_create_and_patch_and_shown_in_the_set_up(
    booking: Booking,
) -> None:
    headers = _setup_token(booking)
    venue = _venue(booking, headers)
    made = _resource(
        booking, headers, venue_id=venue["id"], name="Open day", door_ids=["ny-1"],
        access_operation="unlock",
    )  # fmt: skip
    assert made["access_operation"] == "unlock"
    back = booking.client.patch(
        f"/api/v1/resources/{made['id']}",
        json={"access_operation": "code"},
        headers=headers,
    )
    assert back.json()["access_operation"] == "code"
    listed = booking.client.get("/api/v1/venues", headers=headers).json()
    (shown,) = [r for v in listed for r in v["resources"] if r["id"] == made["id"]]
    assert shown["access_operation"] == "code"
    with booking.ctx.database.transaction() as session:
        resource = session.get(Resource, made["id"])
        assert resource is not None and resource.access_operation == "code"


def test_setup__clear_opening_hours__opens_around_the_clock(booking: Booking) -> None:
    headers = _setup_token(booking)
    answer = booking.client.patch(
        f"/api/v1/resources/{booking.hours_resource_id}",
        json={"clear_opening_hours": True},
        headers=headers,
    )
    assert answer.status_code == 200 and answer.json()["opening_hours"] is None


def test_tenants__operator__creates_updates_and_issues_tokens(booking: Booking) -> None:
    operator = _operator(booking)
    body = {
        "name": "Nyby kommune",
        "hub_url": "http://127.0.0.1:9",
        "hub_api_key": "hkh_client.secret",
    }
    created = booking.client.put("/api/v1/tenants/nyby", json=body, headers=operator)
    assert created.status_code == 201, created.text
    again = booking.client.put("/api/v1/tenants/nyby", json=body, headers=operator)
    assert again.status_code == 200 and again.json()["id"] == created.json()["id"]
    token = booking.client.post(
        "/api/v1/tenants/nyby/tokens", json={"name": "admin", "scopes": ["setup"]}, headers=operator
    )
    assert token.status_code == 201 and token.json()["token"].startswith("hkb_")
    listed = booking.client.get("/api/v1/tenants/nyby", headers=operator).json()
    assert listed["tokens"] == [{"id": token.json()["id"], "name": "admin", "scopes": ["setup"]}]
    venue = _venue(booking, {"Authorization": f"Bearer {token.json()['token']}"})
    assert venue["timezone"] == "Europe/Oslo"


def test_tenants__new_without_hub_key_or_bad_timezone__refused_and_nothing_made(
    booking: Booking,
) -> None:
    operator = _operator(booking)
    before = booking.count(Tenant)
    no_key = {"name": "Nyby", "hub_url": "http://127.0.0.1:9"}
    answer = booking.client.put("/api/v1/tenants/nyby", json=no_key, headers=operator)
    assert answer.status_code == 400 and answer.json()["error"]["field"] == "hub_api_key"
    bad_zone = {**no_key, "hub_api_key": "hkh_client.secret", "timezone": "Mars/Olympus"}
    answer = booking.client.put("/api/v1/tenants/nyby", json=bad_zone, headers=operator)
    assert answer.status_code == 422 and answer.json()["error"]["field"] == "timezone"
    assert booking.count(Tenant) == before


def test_tenants__booking_token_or_other_contexts_key__is_not_an_operator(
    booking: Booking,
) -> None:
    for token in (booking.token, "hkho_0123456789abcdef.secret", "hkbo_0123456789abcdef.nope"):
        answer = booking.client.get(
            "/api/v1/tenants/testby", headers={"Authorization": f"Bearer {token}"}
        )
        assert answer.status_code == 401, token


def test_setup__doors_changed__bookings_still_to_come_are_synced_again_past_ones_not(
    booking: Booking,
) -> None:
    def booked(start: datetime) -> str:
        body = reservation_body(booking.resource_id, iso(start), iso(start + timedelta(hours=1)))
        made = booking.client.post("/api/v1/reservations", json=body, headers=booking.headers())
        assert made.status_code == 201, made.text
        return str(made.json()["id"])

    past = booked(T0 + timedelta(hours=1))
    coming = booked(T0 + timedelta(days=2))
    booking.clock.set(T0 + timedelta(days=1))
    headers = _setup_token(booking)
    renamed = booking.client.patch(
        f"/api/v1/resources/{booking.resource_id}", json={"name": "Storsalen"}, headers=headers
    )
    assert renamed.status_code == 200
    assert _versions(booking, past, coming) == (1, 1)
    moved = booking.client.patch(
        f"/api/v1/resources/{booking.resource_id}",
        json={"door_ids": ["dor_a", "dor_new"]},
        headers=headers,
    )
    assert moved.status_code == 200, moved.text
    assert _versions(booking, past, coming) == (1, 2)
    access = booking.client.get(f"/api/v1/reservations/{coming}", headers=booking.headers())
    assert access.json()["access"]["state"] == "pending"


def _versions(booking: Booking, *ids: str) -> tuple[int, ...]:
    with booking.ctx.database.transaction() as session:
        found = [session.get(Reservation, rid) for rid in ids]
        return tuple(r.version for r in found if r is not None)
