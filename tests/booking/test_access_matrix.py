"""Every endpoint of the booking OpenAPI document, for every kind of caller → the status due.

Callers: anonymous, each staff role signed in and through a personal token, caretakers of the
targets' venue and of another venue, an integration token with each scope, and a second
tenant's admin. Targets (reservations, customers, venues, staff) all belong to the first
tenant, at venue A. Besides the status, no answer to a caller who may not see a target holds
any of its ids (0 leaks). An endpoint of the document without an entry here fails the test.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest

from hallkey.booking import create_customer, create_staff_user
from tests.booking.conftest import T0, Booking, reservation_body
from tests.booking.staff_world import PASSWORD, Caller, World, make_world

Call = Callable[[World, Caller], httpx.Response]
Expect = int | tuple[int, str]

_slots = itertools.count(1)


def _reservation(world: World, resource: str | None = None) -> dict[str, str]:
    """Books a fresh slot (as the tenant's staff integration) and returns id and ref."""
    b = world.booking
    # One hour of its own per booking, from tomorrow for 200 days (clear of the slots the
    # entries take from day 290 on): no two bookings of the matrix collide however many it has.
    start = T0 + timedelta(days=1, hours=2 + next(_slots) % 4800)
    body = reservation_body(
        resource or b.resource_id,
        start.isoformat().replace("+00:00", "Z"),
        (start + timedelta(minutes=30)).isoformat().replace("+00:00", "Z"),
    )
    made = b.client.post("/api/v1/reservations", json=body, headers=b.headers())
    assert made.status_code == 201, made.text
    world.seen.add(made.json()["id"])
    return {"id": made.json()["id"], "ref": made.json()["ref"]}


def _customer(world: World) -> str:
    ctx = world.booking.ctx
    with ctx.database.transaction() as session:
        customer = create_customer(
            ctx,
            session,
            tenant_id=world.booking.tenant_id,
            name="Ola Nordmann",
            phone="+4791234567",
            email=f"ola{next(_slots)}@example.no",
        )
    world.seen.add(customer)
    return customer


def _staff(world: World) -> str:
    ctx = world.booking.ctx
    with ctx.database.transaction() as session:
        staff_id = create_staff_user(
            ctx,
            session,
            tenant_id=world.booking.tenant_id,
            username=f"temp{next(_slots)}",
            password=PASSWORD,
            role="case_officer",
        )
    world.seen.add(staff_id)
    return staff_id


def _price_group(world: World) -> str:
    key = f"pg{next(_slots)}"
    admin = world.callers["admin session"]
    made = world.request("POST", "/api/v1/price-groups", admin, json={"key": key, "name": "Gruppe"})
    assert made.status_code == 201, made.text
    return key


def _own_token(world: World, caller: Caller) -> str:
    """A personal token of the tenant's admin (someone else's for every other caller)."""
    admin = world.callers["admin session"]
    made = world.request(
        "POST", "/api/v1/me/tokens", admin, json={"name": "victim", "scopes": ["staff"]}
    )
    assert made.status_code == 201, made.text
    world.seen.add(made.json()["id"])
    return str(made.json()["id"])


def _feed_path(world: World) -> str:
    """A new secret feed of a fresh customer (made by the tenant's staff): its URL's path."""
    made = world.booking.client.post(
        f"/api/v1/customers/{_customer(world)}/calendar-feed", headers=world.booking.headers()
    )
    assert made.status_code == 201, made.text
    return str(made.json()["url"]).split("booking.testby.example", 1)[1]


@dataclass(frozen=True)
class Entry:
    """How to call one endpoint as a caller, and what it answers when the caller may.

    `scope`: the scope it needs; or "public", "operator", "session" (sign-in),
    "staff_only" (a staff member's own things). `targets`: it acts on the first tenant's
    object (a second tenant gets 404); `venue_bound`: on one at venue A (a caretaker of another
    venue gets 404).
    """

    scope: str
    call: Call
    ok: Expect
    targets: bool = True
    venue_bound: bool = False


def _json(method: str, path: Callable[[World], str], body: object | None = None) -> Call:
    def call(world: World, caller: Caller) -> httpx.Response:
        return world.request(method, path(world), caller, json=body)

    return call


def _future(hours: int) -> str:
    return (T0 + timedelta(days=330, hours=hours)).isoformat().replace("+00:00", "Z")


ENTRIES: dict[tuple[str, str], Entry] = {
    ("get", "/api/v1/resources"): Entry(
        "public",
        lambda w, c: w.request("GET", "/api/v1/resources?tenant=testby", c),
        200,
        targets=False,
    ),
    ("get", "/api/v1/resources/{resource_id}/availability"): Entry(
        "public",
        lambda w, c: w.request(
            "GET",
            f"/api/v1/resources/{w.booking.resource_id}/availability?tenant=testby"
            f"&from={_future(0)}&to={_future(24)}",
            c,
        ),
        200,
        targets=False,
    ),
    # The matrix's resource is free (no prices): every caller, signed in or not, of any tenant
    # that names this one, gets the same public answer, that it has no price in the group.
    ("get", "/api/v1/resources/{resource_id}/price"): Entry(
        "public",
        lambda w, c: w.request(
            "GET",
            f"/api/v1/resources/{w.booking.resource_id}/price?tenant=testby"
            f"&start={_future(0)}&end={_future(1)}&group=private",
            c,
        ),
        404,
        targets=False,
    ),
    # The hub's webhook takes no token or session: only the hub's signature counts, so every
    # caller, whoever it is, is refused an unsigned message (tests/booking/test_hub_webhook.py).
    ("post", "/api/v1/hub-webhook/{slug}"): Entry(
        "public",
        _json("post", lambda w: "/api/v1/hub-webhook/testby", {"type": "door.event", "data": {}}),
        (401, "bad_signature"),
        targets=False,
    ),
    ("post", "/api/v1/reservations"): Entry(
        "reservations",
        lambda w, c: w.request(
            "POST",
            "/api/v1/reservations",
            c,
            json=reservation_body(
                w.booking.resource_id, _future(next(_slots)), _future(next(_slots))
            ),
        ),
        201,
    ),
    ("get", "/api/v1/reservations/{reservation_id}"): Entry(
        "reservations:read",
        lambda w, c: w.request("GET", f"/api/v1/reservations/{_reservation(w)['id']}", c),
        200,
        venue_bound=True,
    ),
    ("get", "/api/v1/reservations/{reservation_id}/mobile-key.svg"): Entry(
        "reservations:read",
        lambda w, c: w.request(
            "GET", f"/api/v1/reservations/{_reservation(w)['id']}/mobile-key.svg", c
        ),
        (404, "no_mobile_key"),
        venue_bound=True,
    ),
    ("patch", "/api/v1/reservations/{reservation_id}"): Entry(
        "reservations",
        lambda w, c: w.request(
            "PATCH",
            f"/api/v1/reservations/{_reservation(w)['id']}",
            c,
            json={"start": _future(-500 - next(_slots)), "end": _future(-500 - next(_slots) + 2)},
        ),
        200,
    ),
    ("post", "/api/v1/reservations/{reservation_id}/cancel"): Entry(
        "reservations",
        lambda w, c: w.request("POST", f"/api/v1/reservations/{_reservation(w)['id']}/cancel", c),
        200,
    ),
    ("post", "/api/v1/reservations/{reservation_id}/approve"): Entry(
        "decide",
        lambda w, c: w.request(
            "POST",
            f"/api/v1/reservations/{_reservation(w, w.booking.approval_resource_id)['id']}/approve",
            c,
        ),
        200,
    ),
    ("post", "/api/v1/reservations/{reservation_id}/deny"): Entry(
        "decide",
        lambda w, c: w.request(
            "POST",
            f"/api/v1/reservations/{_reservation(w, w.booking.approval_resource_id)['id']}/deny",
            c,
            json={"reason": "the hall is closed that week"},
        ),
        200,
    ),
    ("post", "/api/v1/reservations/{reservation_id}/open"): Entry(
        "doors:open",
        lambda w, c: w.request(
            "POST",
            f"/api/v1/reservations/{_reservation(w)['id']}/open",
            c,
            json={"door": "dor_a"},
        ),
        (503, "hub_unavailable"),  # the test's hub is down: the request got as far as the hub
        venue_bound=True,
    ),
    ("get", "/api/v1/customers/{customer_id}"): Entry(
        "customers", lambda w, c: w.request("GET", f"/api/v1/customers/{_customer(w)}", c), 200
    ),
    ("post", "/api/v1/customers/{customer_id}/erase"): Entry(
        "customers",
        lambda w, c: w.request("POST", f"/api/v1/customers/{_customer(w)}/erase", c),
        200,
    ),
    ("post", "/api/v1/access-events"): Entry(
        "events:write",
        lambda w, c: w.request(
            "POST",
            "/api/v1/access-events",
            c,
            json={
                "events": [
                    {
                        "id": f"hev_{next(_slots)}",
                        "ref": _reservation(w)["ref"],
                        "door": "dor_a",
                        "kind": "access_granted",
                        "at": "2026-05-04T10:05:00Z",
                    }
                ]
            },
        ),
        200,
        targets=False,  # a second tenant's events are its own (checked in test_access_events)
    ),
    ("get", "/api/v1/tenants/{slug}"): Entry(
        "operator", lambda w, c: w.request("GET", "/api/v1/tenants/testby", c), 200
    ),
    ("put", "/api/v1/tenants/{slug}"): Entry(
        "operator",
        lambda w, c: w.request(
            "PUT",
            "/api/v1/tenants/testby",
            c,
            json={"name": "Taken over", "hub_url": "http://127.0.0.1:9"},
        ),
        200,
    ),
    ("post", "/api/v1/tenants/{slug}/tokens"): Entry(
        "operator",
        lambda w, c: w.request(
            "POST", "/api/v1/tenants/testby/tokens", c, json={"name": "x", "scopes": ["setup"]}
        ),
        201,
    ),
    ("get", "/api/v1/venues"): Entry(
        "setup", lambda w, c: w.request("GET", "/api/v1/venues", c), 200, targets=False
    ),
    ("post", "/api/v1/venues"): Entry(
        "setup",
        lambda w, c: w.request(
            "POST", "/api/v1/venues", c, json={"name": f"Venue {next(_slots)}", "address": "Vei 1"}
        ),
        201,
        targets=False,
    ),
    ("patch", "/api/v1/venues/{venue_id}"): Entry(
        "setup",
        lambda w, c: w.request("PATCH", f"/api/v1/venues/{w.venue_a}", c, json={"address": "x"}),
        200,
    ),
    ("post", "/api/v1/resources"): Entry(
        "setup",
        lambda w, c: w.request(
            "POST",
            "/api/v1/resources",
            c,
            json={"venue_id": w.venue_a, "name": f"Room {next(_slots)}", "door_ids": ["dor_z"]},
        ),
        201,
    ),
    ("patch", "/api/v1/resources/{resource_id}"): Entry(
        "setup",
        lambda w, c: w.request(
            "PATCH", f"/api/v1/resources/{w.booking.resource_id}", c, json={"horizon_days": 300}
        ),
        200,
    ),
    ("get", "/api/v1/staff"): Entry(
        "setup", lambda w, c: w.request("GET", "/api/v1/staff", c), 200, targets=False
    ),
    ("post", "/api/v1/staff"): Entry(
        "setup",
        lambda w, c: w.request(
            "POST",
            "/api/v1/staff",
            c,
            json={"username": f"new{next(_slots)}", "role": "case_officer", "password": PASSWORD},
        ),
        201,
        targets=False,
    ),
    ("patch", "/api/v1/staff/{staff_id}"): Entry(
        "setup",
        lambda w, c: w.request(
            "PATCH",
            f"/api/v1/staff/{_staff(w)}",
            c,
            json={"role": "caretaker", "venue_ids": [w.venue_a]},
        ),
        200,
    ),
    ("post", "/api/v1/staff/{staff_id}/password"): Entry(
        "setup",
        lambda w, c: w.request(
            "POST", f"/api/v1/staff/{_staff(w)}/password", c, json={"password": PASSWORD + "!"}
        ),
        200,
    ),
    ("get", "/api/v1/me/tokens"): Entry(
        "staff_only", lambda w, c: w.request("GET", "/api/v1/me/tokens", c), 200, targets=False
    ),
    ("post", "/api/v1/me/tokens"): Entry(
        "staff_only",
        lambda w, c: w.request(
            "POST", "/api/v1/me/tokens", c, json={"name": "t", "scopes": ["reservations:read"]}
        ),
        201,
        targets=False,
    ),
    ("delete", "/api/v1/me/tokens/{token_id}"): Entry(
        "staff_only",
        lambda w, c: w.request("DELETE", f"/api/v1/me/tokens/{_own_token(w, c)}", c),
        204,
    ),
    ("post", "/api/v1/session"): Entry(
        "session",
        lambda w, c: w.request(
            "POST",
            "/api/v1/session",
            c,
            json={"tenant": "testby", "username": "officer", "password": PASSWORD},
        ),
        200,
        targets=False,
    ),
    # --- the desk, price groups, customers (staff) ---
    ("get", "/api/v1/reservations"): Entry(
        "reservations:read",
        lambda w, c: w.request("GET", "/api/v1/reservations?limit=5", c),
        200,
        targets=False,  # a list: another tenant's caller gets its own (empty) one
    ),
    ("get", "/api/v1/price-groups"): Entry(
        "setup",
        lambda w, c: w.request("GET", "/api/v1/price-groups", c),
        200,
        targets=False,
    ),
    ("post", "/api/v1/price-groups"): Entry(
        "setup",
        lambda w, c: w.request(
            "POST",
            "/api/v1/price-groups",
            c,
            json={"key": f"g{next(_slots)}", "name": "Ungdom", "requires_approval": False},
        ),
        201,
        targets=False,
    ),
    ("patch", "/api/v1/price-groups/{key}"): Entry(
        "setup",
        lambda w, c: w.request(
            "PATCH",
            f"/api/v1/price-groups/{_price_group(w)}",
            c,
            json={"name": "Ungdom og barn"},
        ),
        200,
    ),
    ("get", "/api/v1/customers"): Entry(
        "customers",
        lambda w, c: w.request("GET", "/api/v1/customers?limit=5", c),
        200,
        targets=False,
    ),
    ("post", "/api/v1/customers"): Entry(
        "customers",
        lambda w, c: w.request(
            "POST",
            "/api/v1/customers",
            c,
            json={"kind": "person", "name": "Per", "email": f"per{next(_slots)}@example.no"},
        ),
        201,
        targets=False,
    ),
    ("patch", "/api/v1/customers/{customer_id}"): Entry(
        "customers",
        lambda w, c: w.request(
            "PATCH", f"/api/v1/customers/{_customer(w)}", c, json={"name": "Ola N."}
        ),
        200,
    ),
    # --- a customer's own sign-in and pages: no staff or token is a customer ---
    ("post", "/api/v1/customer-session/link"): Entry(
        "public",
        lambda w, c: w.request(
            "POST",
            "/api/v1/customer-session/link",
            c,
            json={"email": f"x{next(_slots)}@example.no", "tenant": "testby"},
        ),
        202,
    ),
    ("post", "/api/v1/customer-session"): Entry(
        "public",
        _json("post", lambda w: "/api/v1/customer-session", {"token": "x" * 43}),
        401,
    ),
    ("delete", "/api/v1/customer-session"): Entry(
        "customer", lambda w, c: w.request("DELETE", "/api/v1/customer-session", c), 204
    ),
    ("get", "/api/v1/me"): Entry("customer", lambda w, c: w.request("GET", "/api/v1/me", c), 200),
    ("get", "/api/v1/me/reservations"): Entry(
        "customer", lambda w, c: w.request("GET", "/api/v1/me/reservations", c), 200
    ),
    ("post", "/api/v1/me/reservations"): Entry(
        "customer",
        lambda w, c: w.request(
            "POST",
            "/api/v1/me/reservations",
            c,
            json={
                "resource_id": w.booking.resource_id,
                "start": _future(-900),
                "end": _future(-899),
                "customer": {"name": "Kari", "phone": "+4791234567", "email": "k@example.no"},
            },
        ),
        201,
    ),
    ("get", "/api/v1/session"): Entry(
        "session", lambda w, c: w.request("GET", "/api/v1/session", c), 200, targets=False
    ),
    ("delete", "/api/v1/session"): Entry(
        "session", lambda w, c: w.request("DELETE", "/api/v1/session", c), 204, targets=False
    ),
}
ENTRIES.update(
    {
        # --- usage, accounts and calendar feeds ---
        ("get", "/api/v1/usage"): Entry(
            "reservations:read",
            lambda w, c: w.request(
                "GET",
                f"/api/v1/usage?venue={w.venue_a}&from={_future(0)}&to={_future(24)}",
                c,
            ),
            200,
            venue_bound=True,
        ),
        ("get", "/api/v1/accounts"): Entry(
            "accounts",
            lambda w, c: w.request(
                "GET", f"/api/v1/accounts?from={_future(-48)}&to={_future(24)}&format=csv", c
            ),
            200,
            targets=False,  # a list: another tenant's caller gets its own (empty) one
        ),
        ("get", "/api/v1/resources/{resource_id}/calendar.ics"): Entry(
            "public",
            lambda w, c: w.request(
                "GET", f"/api/v1/resources/{w.booking.resource_id}/calendar.ics?tenant=testby", c
            ),
            200,
            targets=False,
        ),
        ("get", "/api/v1/calendar/{feed_token}.ics"): Entry(
            "public",
            lambda w, c: w.request("GET", _feed_path(w), c),
            200,  # whoever holds the secret URL, signed in or not, of any tenant
            targets=False,
        ),
        ("post", "/api/v1/me/calendar-feed"): Entry(
            "customer", lambda w, c: w.request("POST", "/api/v1/me/calendar-feed", c), 201
        ),
        ("post", "/api/v1/customers/{customer_id}/calendar-feed"): Entry(
            "customers",
            lambda w, c: w.request("POST", f"/api/v1/customers/{_customer(w)}/calendar-feed", c),
            201,
        ),
    }
)
LAST = ("delete", "/api/v1/session")
"""Signs the sessions out: called after every other endpoint."""


def expected(key: tuple[str, str], entry: Entry, caller: Caller) -> Expect:
    """Returns the status (and error code) due to `caller` at the endpoint."""
    if entry.scope == "public":
        return entry.ok
    if entry.scope == "operator":
        return 401  # no caller here holds an operator key
    if entry.scope == "customer":
        return 401  # a customer's own pages: no staff member or token is signed in as one
    if entry.scope == "session":
        if key == ("get", "/api/v1/session") and not caller.signed_in:
            return 401
        return entry.ok
    if caller.anonymous:
        return 401
    if entry.scope == "staff_only":
        if not caller.staff:
            return (403, "staff_only")
        if key == ("post", "/api/v1/me/tokens") and not caller.signed_in:
            return (403, "sign_in_required")
        if key == ("delete", "/api/v1/me/tokens/{token_id}") and not caller.name.startswith(
            "admin "
        ):
            return 404  # the tenant admin's token: unknown to everyone else
        return entry.ok
    if entry.scope not in caller.scopes:
        return (403, "insufficient_scope")
    if entry.targets and caller.other_tenant:
        return 404
    if entry.venue_bound and caller.venue == "b":
        return (404, "not_found")
    return entry.ok


@pytest.fixture
def world(booking: Booking) -> World:
    return make_world(booking)


def test_access_matrix__every_endpoint_and_caller__gets_what_is_due_and_nothing_leaks(
    world: World,
) -> None:
    doc = world.booking.client.get("/api/openapi.json").json()
    documented = {(m, p) for p, operations in doc["paths"].items() for m in operations}
    assert documented - set(ENTRIES) == set(), "endpoints without an entry in the matrix"
    assert set(ENTRIES) - documented == set(), "entries for endpoints that no longer exist"
    order = sorted(ENTRIES, key=lambda key: key == LAST)
    wrong: list[str] = []
    calls = 0
    for key in order:
        entry = ENTRIES[key]
        for caller in world.callers.values():
            due = expected(key, entry, caller)
            response = entry.call(world, caller)
            calls += 1
            status, code = due if isinstance(due, tuple) else (due, None)
            if entry.scope == "operator" and "Authorization" in caller.headers:
                # Once too many wrong keys came from the address, the wrong-key throttle
                # answers 429 instead of 401: a refusal all the same.
                status = response.status_code if response.status_code == 429 else status
            got_code = (
                response.json().get("error", {}).get("code")
                if response.status_code >= 400
                else None
            )
            if response.status_code != status or (code is not None and got_code != code):
                wrong.append(
                    f"{key[0].upper()} {key[1]} as {caller.name}: {response.status_code} "
                    f"{got_code} (due {status} {code or ''}) {response.text[:120]}"
                )
            private = entry.scope not in ("public", "session")  # those show public things
            if private and (caller.other_tenant or (entry.venue_bound and caller.venue == "b")):
                leaked = sorted(i for i in world.seen if i in response.text)
                if leaked:
                    wrong.append(f"{key[0].upper()} {key[1]} as {caller.name}: leaks {leaked}")
    assert wrong == [], "\n".join(wrong)
    assert calls == len(ENTRIES) * len(world.callers)


def test_reservation_list__a_caretaker__sees_its_venues_bookings_only(world: World) -> None:
    at_a = _reservation(world)["id"]  # the matrix's resource is at venue A
    listed = {
        name: world.request("GET", "/api/v1/reservations?limit=200", world.callers[name]).text
        for name in (
            "caretaker session (own venue)",
            "caretaker token (other venue)",
            "caretaker session (other venue)",
            "other tenant's admin",
            "case officer session",
        )
    }
    assert at_a in listed["caretaker session (own venue)"]
    assert at_a in listed["case officer session"]
    for name in ("caretaker token (other venue)", "caretaker session (other venue)"):
        assert at_a not in listed[name], name
    assert at_a not in listed["other tenant's admin"]
