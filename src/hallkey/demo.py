"""Demo data: one municipality whose first resource can be booked and opened at once.

The seeding wires the three contexts together exactly as an operator would: the door
controller, the hub's client, site and doors, and the booking tenant, each knowing the
others only by URL and key. Every id, login and key goes to DATA_DIR/demo.json.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hallkey import booking, hub, locks

DEMO_TENANT_SLUG = "demo"

# (door id, name); the same id at the hub and at the controller.
DEMO_DOORS = [
    ("gymsal-hovedinngang", "Gymsal, hovedinngang"),
    ("gymsal-sideinngang", "Gymsal, sideinngang"),
    ("moterom-1", "Møterom 1"),
]
OFFICE_HOURS = {day: [["08:00", "22:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
OFFICE_HOURS |= {day: [["10:00", "18:00"]] for day in ("sat", "sun")}


@dataclass(frozen=True)
class DemoUrls:
    """Where each context is reached; all the same in the combined process."""

    booking: str
    hub: str
    locks: str


def seed_demo(
    booking_ctx: booking.BookingContext,
    hub_ctx: hub.HubContext,
    locks_ctx: locks.LocksContext,
    urls: DemoUrls,
) -> dict[str, Any]:
    """Creates the demo municipality in all three databases; returns what demo.json holds."""
    with locks_ctx.database.transaction() as session:
        controller_id, locks_api_key = locks.create_controller(
            locks_ctx, session, name="Sentrum kulturhus dørsentral"
        )
        for door_id, name in DEMO_DOORS:
            locks.create_door(
                locks_ctx, session, controller_id=controller_id, name=name, door_id=door_id
            )

    with hub_ctx.database.transaction() as session:
        client_id, hub_api_key = hub.create_client(hub_ctx, session, name="Demo kommune booking")
        site_id, site_events_token = hub.create_site(
            hub_ctx,
            session,
            client_id=client_id,
            name="Sentrum kulturhus",
            connector="controller",
            config={"base_url": urls.locks, "api_key": locks_api_key},
        )
        for door_id, name in DEMO_DOORS:
            hub.create_door(
                hub_ctx, session, site_id=site_id, name=name, door_id=door_id, remote_id=door_id
            )

    with locks_ctx.database.transaction() as session:
        locks.set_hub_link(
            locks_ctx,
            session,
            controller_id=controller_id,
            hub_events_url=f"{urls.hub}/hub/v1/controller-events",
            hub_events_token=site_events_token,
        )

    admin_password = secrets.token_urlsafe(12)
    with booking_ctx.database.transaction() as session:
        tenant_id = booking.create_tenant(
            booking_ctx,
            session,
            name="Demo kommune",
            slug=DEMO_TENANT_SLUG,
            hub_url=urls.hub,
            hub_api_key=hub_api_key,
        )
        venue_id = booking.create_venue(
            booking_ctx,
            session,
            tenant_id=tenant_id,
            name="Sentrum kulturhus",
            address="Storgata 1, 0155 Oslo",
        )
        resources = [
            (
                booking.create_resource(
                    booking_ctx,
                    session,
                    venue_id=venue_id,
                    name="Gymsal (døgnåpen)",
                    door_ids=[DEMO_DOORS[0][0], DEMO_DOORS[1][0]],
                ),
                "Gymsal (døgnåpen)",
                [DEMO_DOORS[0][0], DEMO_DOORS[1][0]],
            ),
            (
                booking.create_resource(
                    booking_ctx,
                    session,
                    venue_id=venue_id,
                    name="Møterom 1",
                    door_ids=[DEMO_DOORS[2][0]],
                    opening_hours=OFFICE_HOURS,
                ),
                "Møterom 1",
                [DEMO_DOORS[2][0]],
            ),
        ]
        booking.create_staff_user(
            booking_ctx,
            session,
            tenant_id=tenant_id,
            username="saksbehandler",
            password=admin_password,
            role="case_officer",
        )
        booking.create_customer(
            booking_ctx,
            session,
            tenant_id=tenant_id,
            name="Idrettslaget Demo",
            phone="+4791234567",
            email="post@demo-il.example",
        )
        # Staff scope: reservations, approve/deny, customers' export and erasure (the README's
        # "Try it"); it cannot post door events.
        booking_api_token = booking.issue_api_token(
            booking_ctx,
            session,
            tenant_id=tenant_id,
            name="demo staff and integrations",
            scopes=["staff"],
        )
        # The hub holds this one: it may post door events and do nothing else.
        hub_events_token = booking.issue_api_token(
            booking_ctx,
            session,
            tenant_id=tenant_id,
            name="hub door events",
            scopes=["events:write"],
        )

    with hub_ctx.database.transaction() as session:
        hub.set_client_events(
            hub_ctx,
            session,
            client_id=client_id,
            events_url=f"{urls.booking}/api/v1/access-events",
            events_token=hub_events_token,
        )

    return {
        "base_url": urls.booking,
        "admin": {"username": "saksbehandler", "password": admin_password},
        "booking_api_token": booking_api_token,
        "hub_api_key": hub_api_key,
        "locks_api_key": locks_api_key,
        "resources": [
            {"id": resource_id, "name": name, "doors": doors}
            for resource_id, name, doors in resources
        ],
        "doors": [{"id": door_id, "name": name} for door_id, name in DEMO_DOORS],
    }


def write_demo_file(path: Path, demo: dict[str, Any]) -> None:
    """Writes demo.json atomically (readers never see half a file), readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(demo, handle, indent=2, ensure_ascii=False)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())  # the keys must survive a crash right after the rename
    tmp.replace(path)


def demo_is_seeded(booking_ctx: booking.BookingContext) -> bool:
    """Tells whether the demo tenant already exists."""
    with booking_ctx.database.transaction() as session:
        return booking.tenant_exists(booking_ctx, session, slug=DEMO_TENANT_SLUG)
