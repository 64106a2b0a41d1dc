"""Each kind of booking API token against each endpoint: allowed, or 403 insufficient_scope."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from hallkey.booking import issue_api_token
from hallkey.booking.models import Reservation
from hallkey.core.errors import InvalidInput
from tests.booking.conftest import Booking, reservation_body

Call = Callable[[Booking, dict[str, str], dict[str, str]], httpx.Response]

ENDPOINTS: dict[str, tuple[str, Call]] = {
    "create": (
        "reservations",
        lambda b, h, ids: b.client.post(
            "/api/v1/reservations",
            json=reservation_body(b.resource_id, "2026-05-06T10:00:00Z", "2026-05-06T11:00:00Z"),
            headers=h,
        ),
    ),
    "get": (
        "reservations",
        lambda b, h, ids: b.client.get(f"/api/v1/reservations/{ids['confirmed']}", headers=h),
    ),
    "move": (
        "reservations",
        lambda b, h, ids: b.client.patch(
            f"/api/v1/reservations/{ids['confirmed']}",
            json={"start": "2026-05-04T10:30:00Z", "end": "2026-05-04T12:30:00Z"},
            headers=h,
        ),
    ),
    "approve": (
        "decide",
        lambda b, h, ids: b.client.post(
            f"/api/v1/reservations/{ids['requested']}/approve", headers=h
        ),
    ),
    "deny": (
        "decide",
        lambda b, h, ids: b.client.post(
            f"/api/v1/reservations/{ids['requested']}/deny", json={"reason": "no"}, headers=h
        ),
    ),
    "list": (
        "reservations",
        lambda b, h, ids: b.client.get("/api/v1/reservations?status=requested", headers=h),
    ),
    "search": (
        "customers",
        lambda b, h, ids: b.client.get("/api/v1/customers?q=kari", headers=h),
    ),
    "patch_customer": (
        "customers",
        lambda b, h, ids: b.client.patch(
            f"/api/v1/customers/{ids['customer']}", json={"name": "Kari Nordmann"}, headers=h
        ),
    ),
    "export": (
        "customers",
        lambda b, h, ids: b.client.get(f"/api/v1/customers/{ids['customer']}", headers=h),
    ),
    "erase": (
        "customers",
        lambda b, h, ids: b.client.post(f"/api/v1/customers/{ids['customer']}/erase", headers=h),
    ),
    "cancel": (
        "reservations",
        lambda b, h, ids: b.client.post(
            f"/api/v1/reservations/{ids['confirmed']}/cancel", headers=h
        ),
    ),
    "events": (
        "events:write",
        lambda b, h, ids: b.client.post(
            "/api/v1/access-events",
            json={
                "events": [
                    {
                        "id": "hev_forged",
                        "ref": ids["ref"],
                        "door": "dor_a",
                        "kind": "access_granted",
                        "at": "2026-05-04T10:05:00Z",
                    }
                ]
            },
            headers=h,
        ),
    ),
}

# Which endpoint groups each token kind may use.
KINDS: dict[str, tuple[list[str], set[str]]] = {
    "staff": (["staff"], {"reservations", "decide", "customers"}),
    "events_write": (["events:write"], {"events:write"}),
    "reservations": (["reservations"], {"reservations"}),
    "decide": (["decide"], {"decide"}),
    "customers": (["customers"], {"customers"}),
}


def _seed(booking: Booking) -> dict[str, str]:
    headers = booking.headers()
    confirmed = booking.client.post(
        "/api/v1/reservations",
        json=reservation_body(booking.resource_id, "2026-05-04T10:00:00Z", "2026-05-04T12:00:00Z"),
        headers=headers,
    ).json()
    requested = booking.client.post(
        "/api/v1/reservations",
        json=reservation_body(
            booking.approval_resource_id, "2026-05-04T10:00:00Z", "2026-05-04T12:00:00Z"
        ),
        headers=headers,
    ).json()
    return {
        "confirmed": confirmed["id"],
        "ref": confirmed["ref"],
        "requested": requested["id"],
        "customer": confirmed["customer"]["id"],
    }


def _snapshot(booking: Booking) -> list[tuple[Any, ...]]:
    with booking.ctx.database.transaction() as session:
        rows = session.query(Reservation).order_by(Reservation.id).all()
        return [(r.status, r.start_at, r.end_at, r.version, r.contact_name) for r in rows]


@pytest.mark.parametrize("kind", list(KINDS))
def test_scopes__each_token_kind_on_each_endpoint__is_allowed_or_403(
    booking: Booking, kind: str
) -> None:
    scopes, allowed = KINDS[kind]
    with booking.ctx.database.transaction() as session:
        token = issue_api_token(
            booking.ctx, session, tenant_id=booking.tenant_id, name=kind, scopes=scopes
        )
    ids = _seed(booking)
    headers = booking.headers(token)
    for name, (group, call) in ENDPOINTS.items():
        before = _snapshot(booking)
        response = call(booking, headers, ids)
        if group in allowed:
            assert response.status_code in (200, 201, 409), (name, response.text)
        else:
            assert response.status_code == 403, (name, response.text)
            error = response.json()["error"]
            assert error["code"] == "insufficient_scope"
            assert not any(value in error["message"] for value in ids.values())
            assert _snapshot(booking) == before, name
    # Door events forged with a staff token (or any but events:write) are never stored.
    events = booking.client.get(
        f"/api/v1/reservations/{ids['confirmed']}", headers=booking.headers()
    ).json()["events"]
    assert len(events) == (1 if "events:write" in allowed else 0)


def test_scopes__the_other_tenants_tokens__see_nothing_of_mine(booking: Booking) -> None:
    ids = _seed(booking)
    other = booking.headers(booking.other_token)
    for name in ("get", "move", "cancel", "approve", "deny", "export", "erase"):
        response = ENDPOINTS[name][1](booking, other, ids)
        assert response.status_code == 404, (name, response.text)
    # The other tenant's hub token may post events, but they land in its own tenant only.
    pushed = ENDPOINTS["events"][1](booking, booking.headers(booking.other_events_token), ids)
    assert pushed.status_code == 200
    got = booking.client.get(f"/api/v1/reservations/{ids['confirmed']}", headers=booking.headers())
    assert got.json()["events"] == []
    bogus = ENDPOINTS["get"][1](booking, booking.headers("hkb_nope.secret"), ids)
    assert bogus.status_code == 401


def test_scopes__unknown_or_no_scope__cannot_be_issued(booking: Booking) -> None:
    for scopes in ([], ["admin"], ["staff", "everything"]):
        with (
            pytest.raises(InvalidInput) as caught,
            booking.ctx.database.transaction() as session,
        ):
            issue_api_token(
                booking.ctx, session, tenant_id=booking.tenant_id, name="x", scopes=scopes
            )
        assert caught.value.field == "scopes"


PUBLIC = {
    ("get", "/api/v1/resources"),
    ("get", "/api/v1/resources/{resource_id}/availability"),
    ("get", "/api/v1/resources/{resource_id}/price"),
    # Sign-in: the session endpoints check the cookie themselves.
    ("post", "/api/v1/session"),
    ("get", "/api/v1/session"),
    ("delete", "/api/v1/session"),
    # The hub's webhook: no token, its signature is the proof (tests/booking/test_hub_webhook.py).
    ("post", "/api/v1/hub-webhook/{slug}"),
    ("post", "/api/v1/customer-session/link"),
    ("post", "/api/v1/customer-session"),
    # Calendar feeds: a resource's busy time is public; a customer's feed's token is its proof.
    ("get", "/api/v1/resources/{resource_id}/calendar.ics"),
    ("get", "/api/v1/calendar/{feed_token}.ics"),
}


def test_scopes__every_endpoint_but_the_public_ones__declares_the_scope_it_needs(
    booking: Booking,
) -> None:
    doc = booking.client.get("/api/openapi.json").json()
    declared = {
        (method, path): (operation.get("x-required-scope"), operation.get("x-operator-only"))
        for path, operations in doc["paths"].items()
        for method, operation in operations.items()
        if not operation.get("x-staff-only")  # a staff member's own tokens: any scope
    }
    scopes = {
        "reservations",
        "reservations:read",
        "decide",
        "customers",
        "doors:open",
        "events:write",
        "setup",
        "accounts",
    }
    customer_session = {
        (method, path): operation.get("x-customer-session", False)
        for path, operations in doc["paths"].items()
        for method, operation in operations.items()
    }
    for (method, path), (scope, operator_only) in declared.items():
        if (method, path) in PUBLIC:
            assert (scope, operator_only) == (None, None), (method, path)
        elif path == "/api/v1/customer-session" or path.startswith("/api/v1/me"):
            assert scope is None and customer_session[(method, path)], (method, path)
        elif path.startswith("/api/v1/tenants/"):
            assert (scope, operator_only) == (None, True), (method, path)
        else:
            assert scope in scopes and operator_only is None, (method, path)
    assert declared[("post", "/api/v1/access-events")][0] == "events:write"
    assert declared[("post", "/api/v1/resources")][0] == "setup"
