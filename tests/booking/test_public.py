"""Public requests concern one tenant: by host name, by `?tenant=`, or the only one."""

from __future__ import annotations

from hallkey.booking import create_resource, create_venue, set_tenant_hostnames
from hallkey.booking.models import ApiToken, Resource, Tenant, TenantHostname, Venue
from hallkey.core.errors import Conflict
from tests.booking.conftest import Booking, BookingFactory, reservation_body

START = "2026-05-04T10:00:00Z"
END = "2026-05-04T12:00:00Z"


def names(booking: Booking, **kwargs: object) -> list[str]:
    response = booking.client.get("/api/v1/resources", **kwargs)
    assert response.status_code == 200, response.text
    return sorted(r["name"] for r in response.json())


def test_public__two_tenants__each_lists_only_its_own_resources(booking: Booking) -> None:
    testby = ["Main hall", "Meeting room", "Stage"]
    assert names(booking, params={"tenant": "testby"}) == testby
    assert names(booking, params={"tenant": "annenby"}) == ["Other hall"]
    assert names(booking, headers={"Host": "booking.testby.example"}) == testby
    assert names(booking, headers={"Host": "BOOKING.testby.example.:8443"}) == testby


def test_public__two_tenants_and_nothing_to_tell_them_apart__is_400_tenant_required(
    booking: Booking,
) -> None:
    response = booking.client.get("/api/v1/resources")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "tenant_required"
    assert response.json()["error"]["field"] == "tenant"
    availability = booking.client.get(
        f"/api/v1/resources/{booking.resource_id}/availability",
        params={"from": START, "to": END},
    )
    assert availability.status_code == 400
    unknown = booking.client.get("/api/v1/resources", params={"tenant": "nowhere"})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["field"] == "tenant"
    # A host that names one tenant and a slug that names another: neither is guessed.
    mixed = booking.client.get(
        "/api/v1/resources",
        params={"tenant": "annenby"},
        headers={"Host": "booking.testby.example"},
    )
    assert mixed.status_code == 404


def test_public__availability_of_another_tenants_resource__is_404(booking: Booking) -> None:
    url = f"/api/v1/resources/{booking.other_resource_id}/availability"
    params = {"from": START, "to": END}
    mine = booking.client.get(url, params=params, headers={"Host": "booking.testby.example"})
    assert mine.status_code == 404
    assert mine.json()["error"]["field"] == "resource_id"
    assert booking.client.get(url, params=params | {"tenant": "testby"}).status_code == 404
    assert booking.client.get(url, params=params | {"tenant": "annenby"}).status_code == 200


def test_public__one_tenant_installation__needs_no_tenant(make_booking: BookingFactory) -> None:
    booking = make_booking()
    with booking.ctx.database.transaction() as session:
        other = session.query(Tenant).filter(Tenant.slug == "annenby").one()
        for model in (ApiToken, Resource, Venue, TenantHostname):
            session.query(model).filter(model.tenant_id == other.id).delete()
        session.delete(other)
    assert names(booking) == ["Main hall", "Meeting room", "Stage"]
    response = booking.client.get(
        f"/api/v1/resources/{booking.resource_id}/availability",
        params={"from": START, "to": END},
    )
    assert response.status_code == 200


def test_public__a_host_name_of_another_tenant__cannot_be_taken(booking: Booking) -> None:
    with booking.ctx.database.transaction() as session:
        other = session.query(Tenant).filter(Tenant.slug == "annenby").one()
        try:
            set_tenant_hostnames(
                booking.ctx, session, tenant_id=other.id, hostnames=["booking.testby.example"]
            )
        except Conflict as exc:
            assert exc.field == "hostnames"
        else:
            raise AssertionError("a host name was given to two tenants")
        set_tenant_hostnames(
            booking.ctx, session, tenant_id=other.id, hostnames=["Annenby.Example"]
        )
        venue = create_venue(booking.ctx, session, tenant_id=other.id, name="Ny hall")
        create_resource(booking.ctx, session, venue_id=venue, name="New hall", door_ids=[])
    assert names(booking, headers={"Host": "annenby.example"}) == ["New hall", "Other hall"]


def test_availability__opening_that_starts_in_the_spring_gap__is_free_from_the_jump(
    booking: Booking,
) -> None:
    # 2027-03-28 (the last Sunday of March): Oslo's clock jumps from 02:00 to 03:00 at 01:00Z.
    with booking.ctx.database.transaction() as session:
        main = session.get(Resource, booking.resource_id)
        assert main is not None
        night = create_resource(
            booking.ctx,
            session,
            venue_id=main.venue_id,
            name="Night court",
            door_ids=[],
            opening_hours={"sun": [["02:30", "03:15"]]},
        )
    response = booking.client.get(
        f"/api/v1/resources/{night}/availability",
        params={
            "from": "2027-03-28T00:00:00+01:00",
            "to": "2027-03-29T00:00:00+02:00",
            "tenant": "testby",
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["free"] == [
        {"start": "2027-03-28T01:00:00Z", "end": "2027-03-28T01:15:00Z"}
    ]
    booked = booking.client.post(
        "/api/v1/reservations",
        json=reservation_body(night, "2027-03-28T01:00:00Z", "2027-03-28T01:15:00Z"),
        headers=booking.headers(),
    )
    assert booked.status_code == 201, booked.text
