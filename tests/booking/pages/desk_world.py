"""A booking with staff of every role and a browser-like client per person: each signs in
through `/login` (the page's own CSRF field and cookie) and posts forms as a browser does."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select

from hallkey.booking import create_resource, create_staff_user, create_venue
from hallkey.booking.models import Reservation, Resource, Tenant
from hallkey.booking.service import SYNC_ACCESS
from tests.booking.conftest import Booking, reservation_body

PASSWORD = "correct horse battery staple"
HOST = "http://booking.testby.example"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Person:
    """A browser of one person: its own cookies, signed in (or not) through `/login`."""

    client: TestClient
    csrf: str = ""

    def get(self, path: str, **params: Any) -> httpx.Response:
        # No `params` at all when none: httpx would drop the query written in `path`.
        response: httpx.Response = self.client.get(
            path, params=params or None, follow_redirects=False
        )
        found = CSRF.search(response.text)
        if found:
            self.csrf = found.group(1)
        return response

    def post(self, path: str, data: dict[str, str], *, csrf: bool = True) -> httpx.Response:
        if csrf and not self.csrf:
            self.get("/login")
        form = {**data, "csrf": self.csrf} if csrf else dict(data)
        response: httpx.Response = self.client.post(path, data=form, follow_redirects=False)
        return response


@dataclass
class Desk:
    """The seeded booking, its second venue, and a browser per staff member."""

    booking: Booking
    venue_a: str
    venue_b: str
    resource_b: str
    staff: set[str] = field(default_factory=set)

    def add_staff(self, username: str) -> None:
        """Creates a staff member when first needed (a password hash takes a while)."""
        role, venues = {
            "admin": ("admin", []),
            "officer": ("case_officer", []),
            "caretaker-a": ("caretaker", [self.venue_a]),
            "caretaker-b": ("caretaker", [self.venue_b]),
        }[username]
        ctx = self.booking.ctx
        with ctx.database.transaction() as session:
            create_staff_user(
                ctx,
                session,
                tenant_id=self.booking.tenant_id,
                username=username,
                password=PASSWORD,
                role=role,
                venue_ids=venues,
            )
        self.staff.add(username)

    def add_other_admin(self) -> None:
        """Creates the other tenant's admin, `other`."""
        ctx = self.booking.ctx
        with ctx.database.transaction() as session:
            other = session.scalars(select(Tenant).where(Tenant.slug == "annenby")).one()
            create_staff_user(
                ctx, session, tenant_id=other.id, username="other", password=PASSWORD, role="admin"
            )

    def browser(self, host: str = HOST) -> Person:
        return Person(TestClient(self.booking.client.app, base_url=host))

    def signed_in(self, username: str, host: str = HOST) -> Person:
        if username not in self.staff:
            self.add_staff(username)
        person = self.browser(host)
        person.get("/login")
        response = person.post("/login/staff", {"username": username, "password": PASSWORD})
        assert response.status_code == 303, response.text
        return person

    def book(self, resource_id: str, start: str, end: str, **customer: str) -> dict[str, Any]:
        body = reservation_body(resource_id, start, end)
        body["customer"] = {**body["customer"], **customer}
        response = self.booking.client.post(
            "/api/v1/reservations", json=body, headers=self.booking.headers()
        )
        assert response.status_code == 201, response.text
        data: dict[str, Any] = response.json()
        return data

    def api(self, path: str, token: str | None = None) -> dict[str, Any]:
        response = self.booking.client.get(path, headers=self.booking.headers(token))
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        return data


def make_desk(booking: Booking) -> Desk:
    """Seeds a second venue; staff (admin, officer, a caretaker of each venue) are made when
    they first sign in."""
    ctx = booking.ctx
    with ctx.database.transaction() as session:
        resource = session.get(Resource, booking.resource_id)
        assert resource is not None
        venue_a = resource.venue_id
        venue_b = create_venue(ctx, session, tenant_id=booking.tenant_id, name="Testby school")
        resource_b = create_resource(
            ctx, session, venue_id=venue_b, name="School gym", door_ids=["dor_s"]
        )
    return Desk(booking, venue_a, venue_b, resource_b)


def status_of(desk: Desk, reservation_id: str) -> tuple[str, str | None, int]:
    with desk.booking.ctx.database.read() as session:
        found = session.get(Reservation, reservation_id)
        assert found is not None
        return found.status, found.decision_reason, found.version


def sync_jobs(desk: Desk) -> int:
    with desk.booking.ctx.database.read() as session:
        return desk.booking.ctx.jobs.pending_count(session, kind=SYNC_ACCESS)


def request_on_stage(desk: Desk, day: int = 5, **customer: str) -> dict[str, Any]:
    made = desk.book(
        desk.booking.approval_resource_id,
        f"2026-05-{day:02d}T16:00:00Z",
        f"2026-05-{day:02d}T18:00:00Z",
        **customer,
    )
    assert made["status"] == "requested"
    return made
