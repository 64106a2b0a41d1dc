"""A booking context with staff of every role, signed in or holding personal tokens."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from hallkey.booking import create_resource, create_staff_user, create_venue, issue_api_token
from hallkey.booking.models import Resource, Tenant
from tests.booking.conftest import Booking

PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class Caller:
    """One way of calling the API: its headers, and what the test expects it may do."""

    name: str
    headers: dict[str, str]
    scopes: frozenset[str] = frozenset()
    anonymous: bool = False
    other_tenant: bool = False
    venue: str | None = None  # a caretaker's venue: "a" (the targets') or "b"
    staff: bool = False
    signed_in: bool = False


@dataclass
class World:
    """The seeded booking, venue B of the same tenant, and every caller."""

    booking: Booking
    venue_a: str
    venue_b: str
    resource_b: str
    staff_ids: dict[str, str] = field(default_factory=dict)
    callers: dict[str, Caller] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)
    """Ids of the first tenant's things that no other tenant may ever see."""

    def request(
        self, method: str, path: str, caller: Caller, *, json: Any = None
    ) -> httpx.Response:
        """Sends one request as `caller` and nothing else (the client's cookie jar is cleared:
        a caller's cookie is in its headers)."""
        self.booking.client.cookies.clear()
        response: httpx.Response = self.booking.client.request(
            method, path, headers=caller.headers, json=json
        )
        self.booking.client.cookies.clear()
        return response


def sign_in(booking: Booking, username: str, tenant: str = "testby") -> dict[str, str]:
    """Returns the headers of a signed-in session: its cookie and its CSRF token."""
    booking.client.cookies.clear()
    response = booking.client.post(
        "/api/v1/session", json={"tenant": tenant, "username": username, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    secret = response.cookies["hallkey_session"]
    booking.client.cookies.clear()
    return {"Cookie": f"hallkey_session={secret}", "X-CSRF-Token": response.json()["csrf_token"]}


def personal_token(
    booking: Booking, session: dict[str, str], scopes: list[str], name: str = "mine"
) -> str:
    """Returns a new personal token made through the API by a signed-in staff member."""
    booking.client.cookies.clear()
    response = booking.client.post(
        "/api/v1/me/tokens", json={"name": name, "scopes": scopes}, headers=session
    )
    assert response.status_code == 201, response.text
    return str(response.json()["token"])


CASE_OFFICER = frozenset({"reservations", "reservations:read", "decide", "customers"})
CASE_OFFICER_ROLE = CASE_OFFICER | {"accounts"}  # signed in: the role's `accounts` too
ADMIN_TOKEN = CASE_OFFICER | {"setup"}  # the admin's personal token: ["staff", "setup"]
ADMIN = ADMIN_TOKEN | {"doors:open", "accounts"}
CARETAKER = frozenset({"reservations:read", "doors:open"})
CARETAKER_TOKEN = frozenset({"reservations:read"})  # its personal token: read only
INTEGRATION_SCOPES = {
    "reservations": frozenset({"reservations", "reservations:read"}),
    "reservations:read": frozenset({"reservations:read"}),
    "decide": frozenset({"decide"}),
    "customers": frozenset({"customers"}),
    "doors:open": frozenset({"doors:open"}),
    "setup": frozenset({"setup"}),
    "events:write": frozenset({"events:write"}),
    "accounts": frozenset({"accounts"}),
    "staff": CASE_OFFICER,
}


def make_world(booking: Booking) -> World:
    """Seeds venue B, staff of every role (and another tenant's admin) and their callers."""
    ctx = booking.ctx
    with ctx.database.transaction() as session:
        resource = session.get(Resource, booking.resource_id)
        assert resource is not None
        venue_a = resource.venue_id
        venue_b = create_venue(ctx, session, tenant_id=booking.tenant_id, name="Testby school")
        resource_b = create_resource(
            ctx, session, venue_id=venue_b, name="School gym", door_ids=["dor_s"]
        )
        world = World(booking, venue_a, venue_b, resource_b)
        for username, role, venues in (
            ("admin", "admin", []),
            ("officer", "case_officer", []),
            ("caretaker-a", "caretaker", [venue_a]),
            ("caretaker-b", "caretaker", [venue_b]),
        ):
            world.staff_ids[username] = create_staff_user(
                ctx,
                session,
                tenant_id=booking.tenant_id,
                username=username,
                password=PASSWORD,
                role=role,
                venue_ids=venues,
            )
        other_tenant = _tenant_id(session, "annenby")
        world.staff_ids["other-admin"] = create_staff_user(
            ctx, session, tenant_id=other_tenant, username="admin", password=PASSWORD, role="admin"
        )
        integration = {
            scope: issue_api_token(
                ctx, session, tenant_id=booking.tenant_id, name=f"only {scope}", scopes=[scope]
            )
            for scope in INTEGRATION_SCOPES
        }
    admin = sign_in(booking, "admin")
    officer = sign_in(booking, "officer")
    caretaker_a = sign_in(booking, "caretaker-a")
    caretaker_b = sign_in(booking, "caretaker-b")
    other_admin = sign_in(booking, "admin", tenant="annenby")

    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    callers = [
        Caller("anonymous", {}, anonymous=True),
        Caller("admin session", admin, ADMIN, staff=True, signed_in=True),
        Caller(
            "admin token",
            bearer(personal_token(booking, admin, ["staff", "setup"])),
            ADMIN_TOKEN,
            staff=True,
        ),
        Caller("case officer session", officer, CASE_OFFICER_ROLE, staff=True, signed_in=True),
        Caller(
            "case officer token",
            bearer(personal_token(booking, officer, ["staff"])),
            CASE_OFFICER,
            staff=True,
        ),
        *(
            caller
            for venue, which, session in (("a", "own", caretaker_a), ("b", "other", caretaker_b))
            for caller in (
                Caller(
                    f"caretaker session ({which} venue)",
                    session,
                    CARETAKER,
                    venue=venue,
                    staff=True,
                    signed_in=True,
                ),
                Caller(
                    f"caretaker token ({which} venue)",
                    bearer(personal_token(booking, session, ["reservations:read"])),
                    CARETAKER_TOKEN,
                    venue=venue,
                    staff=True,
                ),
            )
        ),
        *(
            Caller(f"integration token {scope}", bearer(token), INTEGRATION_SCOPES[scope])
            for scope, token in integration.items()
        ),
        Caller(
            "other tenant's admin",
            other_admin,
            ADMIN,
            other_tenant=True,
            staff=True,
            signed_in=True,
        ),
    ]
    world.callers = {caller.name: caller for caller in callers}
    world.seen |= {venue_a, venue_b, resource_b, booking.resource_id, booking.tenant_id}
    world.seen |= {staff_id for name, staff_id in world.staff_ids.items() if name != "other-admin"}
    return world


def _tenant_id(session: Session, slug: str) -> str:
    return str(session.scalars(select(Tenant.id).where(Tenant.slug == slug)).one())
