"""Provisioning functions used by the demo, the CLI and tests."""

from __future__ import annotations

import pytest

from hallkey.booking import create_customer, create_staff_user, create_tenant, tenant_exists
from hallkey.booking.models import Customer, StaffUser
from hallkey.core.errors import Conflict, InvalidInput
from hallkey.core.security import verify_password
from tests.booking.conftest import Booking


def test_provisioning__customer_with_same_email__is_reused_and_updated(booking: Booking) -> None:
    ctx = booking.ctx
    with ctx.database.transaction() as session:
        first = create_customer(
            ctx,
            session,
            tenant_id=booking.tenant_id,
            name="IL Demo",
            phone="91234567",
            email="post@demo-il.example",
        )
        second = create_customer(
            ctx,
            session,
            tenant_id=booking.tenant_id,
            name="IL Demo 2",
            phone="+4791234568",
            email="post@demo-il.example",
        )
        assert first == second
        customer = session.get(Customer, first)
        assert customer is not None
        assert (customer.name, customer.phone) == ("IL Demo 2", "+4791234568")
        with pytest.raises(InvalidInput) as refused:
            create_customer(
                ctx,
                session,
                tenant_id=booking.tenant_id,
                name="X",
                phone="12",
                email="x@example.no",
            )
        assert refused.value.field == "phone"
        with pytest.raises(InvalidInput) as bad_number:
            create_customer(
                ctx,
                session,
                tenant_id=booking.tenant_id,
                name="X AS",
                phone="91234567",
                email="x@example.no",
                org_number="974760674",
            )
        assert bad_number.value.field == "org_number"


def test_provisioning__tenant_and_staff__are_checked_and_stored_safely(booking: Booking) -> None:
    ctx = booking.ctx
    with ctx.database.transaction() as session:
        assert tenant_exists(ctx, session, slug="testby")
        assert not tenant_exists(ctx, session, slug="nowhere")
        with pytest.raises(Conflict):
            create_tenant(
                ctx, session, name="Dup", slug="testby", hub_url="http://h", hub_api_key="k"
            )
        with pytest.raises(InvalidInput) as refused:
            create_tenant(
                ctx,
                session,
                name="Bad",
                slug="bad",
                hub_url="http://h",
                hub_api_key="k",
                timezone="Mars/Olympus",
            )
        assert refused.value.field == "timezone"
        user_id = create_staff_user(
            ctx, session, tenant_id=booking.tenant_id, username="kari", password="s3cret-pass-long"
        )
        user = session.get(StaffUser, user_id)
        assert user is not None and user.role == "case_officer"
        assert "s3cret-pass-long" not in user.password_hash
        assert verify_password("s3cret-pass-long", user.password_hash)
        with pytest.raises(InvalidInput):
            create_staff_user(
                ctx,
                session,
                tenant_id=booking.tenant_id,
                username="ola",
                password="x" * 12,
                role="king",
            )


def test_provisioning__resource_access_operation__code_by_default_unlock_or_refused(
    booking: Booking,
) -> None:
    from hallkey.booking import create_resource
    from hallkey.booking.models import Resource

    ctx = booking.ctx
    with ctx.database.transaction() as session:
        hall = session.get(Resource, booking.resource_id)
        assert hall is not None and hall.access_operation == "code"
        event_id = create_resource(
            ctx, session, venue_id=hall.venue_id, name="Open day", door_ids=["dor_a"],
            access_operation="unlock",
        )  # fmt: skip
        event = session.get(Resource, event_id)
        assert event is not None and event.access_operation == "unlock"
        with pytest.raises(InvalidInput) as refused:
            create_resource(
                ctx, session, venue_id=hall.venue_id, name="X", door_ids=["dor_a"],
                access_operation="open",
            )  # fmt: skip
        assert refused.value.field == "access_operation"
