"""Staff of every role signed in to the pages (their own browsers: a TestClient each, with
the sign-in and CSRF cookies a browser keeps)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select

from hallkey.booking import create_resource, create_staff_user, create_venue
from hallkey.booking.models import Resource, Tenant
from tests.booking.conftest import Booking

PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Browser:
    """A signed-in staff member's browser: its client and the CSRF token of its forms."""

    client: TestClient
    csrf: str

    def post(self, path: str, data: dict[str, str], *, csrf: bool = True) -> httpx.Response:
        """Posts a form as the page would (with the CSRF field unless told not to)."""
        fields = {"csrf": self.csrf, **data} if csrf else data
        response: httpx.Response = self.client.post(path, data=fields, follow_redirects=False)
        return response


def browser(booking: Booking, username: str, tenant: str = "testby") -> Browser:
    """Returns the browser of a staff member signed in through `/login`."""
    client = TestClient(booking.client.app)
    page = client.get(f"/login?tenant={tenant}")
    match = CSRF.search(page.text)
    assert match is not None
    signed = client.post(
        f"/login/staff?tenant={tenant}",
        data={"csrf": match.group(1), "username": username, "password": PASSWORD, "next": "/"},
        follow_redirects=False,
    )
    assert signed.status_code == 303, signed.text
    return Browser(client, match.group(1))


@dataclass
class Staffed:
    """The seeded booking, a second venue (B) of its tenant, and the staff's browsers."""

    booking: Booking
    venue_a: str
    venue_b: str
    resource_b: str

    def user(self, username: str, tenant: str = "testby") -> Browser:
        return browser(self.booking, username, tenant)


def staffed(booking: Booking) -> Staffed:
    """Seeds venue B and one staff member of each role (caretakers of venue A and B), and
    the other tenant's admin."""
    ctx = booking.ctx
    with ctx.database.transaction() as session:
        resource = session.get(Resource, booking.resource_id)
        assert resource is not None
        venue_a = resource.venue_id
        venue_b = create_venue(ctx, session, tenant_id=booking.tenant_id, name="Testby school")
        resource_b = create_resource(
            ctx, session, venue_id=venue_b, name="School gym", door_ids=["dor_s"]
        )
        for username, role, venues in (
            ("admin", "admin", []),
            ("officer", "case_officer", []),
            ("caretaker-a", "caretaker", [venue_a]),
            ("caretaker-b", "caretaker", [venue_b]),
        ):
            create_staff_user(
                ctx,
                session,
                tenant_id=booking.tenant_id,
                username=username,
                password=PASSWORD,
                role=role,
                venue_ids=venues,
            )
        other = session.scalars(select(Tenant).where(Tenant.slug == "annenby")).one()
        create_staff_user(
            ctx, session, tenant_id=other.id, username="admin", password=PASSWORD, role="admin"
        )
    return Staffed(booking, venue_a, venue_b, resource_b)
