"""Demo data: one municipality whose first resource can be booked and opened at once.

The demo is a set-up file shipped in the package (`demo.toml`), applied exactly as `hallkey
apply` applies any municipality's: through the three contexts' HTTP APIs with operator keys
(here in-process, before any server listens; the keys are deleted afterwards). Only what the
file cannot hold is seeded directly: a customer. Every id, login and key goes to
DATA_DIR/demo.json; the staff's passwords are generated (and written there only).
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from hallkey import booking, hub, locks
from hallkey.apply import Endpoint, Outcome, SetupFile, apply_setup, load_setup_file
from hallkey.core.inprocess import InProcessTransport
from hallkey.core.web import create_app

DEMO_TENANT_SLUG = "demo"
DEMO_FILE = Path(__file__).with_name("demo.toml")
DEMO_ADMIN = "admin"
"""The demo file's admin (demo.json's `admin`)."""
DEMO_HUB_ADMIN = "driftsleder"
"""The demo's hub operator, who signs in at /hub/admin."""
DEMO_STAFF_TOKEN = "demo staff and integrations"  # noqa: S105 - a token's name
IN_PROCESS_URL = "http://in-process.invalid"
DEMO_CUSTOMER_EMAIL = "post@demo-il.example"


@dataclass(frozen=True)
class DemoUrls:
    """Where each context is reached; all the same in the combined process."""

    booking: str
    hub: str
    locks: str


@contextmanager
def in_process_operator(
    booking_ctx: booking.BookingContext,
    hub_ctx: hub.HubContext,
    locks_ctx: locks.LocksContext,
    urls: DemoUrls,
) -> Iterator[tuple[Endpoint, Endpoint, Endpoint]]:
    """Yields the operator's endpoints of the three contexts, called in-process; their
    operator keys exist only for the duration of the block."""
    parts = [booking.build_part(booking_ctx), hub.build_part(hub_ctx), locks.build_part(locks_ctx)]
    transport = InProcessTransport(create_app(parts, run_workers=False))
    with booking_ctx.database.transaction() as session:
        booking_key = booking.issue_operator_key(booking_ctx, session, name="demo seeding")
    with hub_ctx.database.transaction() as session:
        hub_key = hub.issue_operator_key(hub_ctx, session, name="demo seeding")
    with locks_ctx.database.transaction() as session:
        locks_key = locks.issue_operator_key(locks_ctx, session, name="demo seeding")
    try:
        with ExitStack() as stack:

            def endpoint(key: str, public_url: str) -> Endpoint:
                client = httpx.Client(
                    transport=transport,
                    base_url=IN_PROCESS_URL,
                    headers={"Authorization": f"Bearer {key}"},
                )
                return Endpoint(stack.enter_context(client), public_url.rstrip("/"))

            yield (
                endpoint(booking_key[1], urls.booking),
                endpoint(hub_key[1], urls.hub),
                endpoint(locks_key[1], urls.locks),
            )
    finally:
        with booking_ctx.database.transaction() as session:
            booking.revoke_operator_key(booking_ctx, session, key_id=booking_key[0])
        with hub_ctx.database.transaction() as session:
            hub.revoke_operator_key(hub_ctx, session, key_id=hub_key[0])
        with locks_ctx.database.transaction() as session:
            locks.revoke_operator_key(locks_ctx, session, key_id=locks_key[0])


def seed_demo(
    booking_ctx: booking.BookingContext,
    hub_ctx: hub.HubContext,
    locks_ctx: locks.LocksContext,
    urls: DemoUrls,
) -> dict[str, Any]:
    """Applies the demo file to all three contexts; returns what demo.json holds."""
    setup = load_setup_file(DEMO_FILE)
    with in_process_operator(booking_ctx, hub_ctx, locks_ctx, urls) as (b, h, lk):
        outcome = apply_setup(setup, booking=b, hub=h, locks=lk, generate_passwords=True)
    with booking_ctx.database.transaction() as session:
        tenant_id = outcome.ids["tenant"]
        # Customers are not in set-up files: seeded directly.
        booking.create_customer(
            booking_ctx,
            session,
            tenant_id=tenant_id,
            name="Idrettslaget Demo",
            phone="+4791234567",
            email=DEMO_CUSTOMER_EMAIL,
        )
    hub_admin_password = secrets.token_urlsafe(12)
    with hub_ctx.database.transaction() as session:
        hub.create_admin(hub_ctx, session, username=DEMO_HUB_ADMIN, password=hub_admin_password)
    demo = _demo_json(setup, outcome, urls)
    demo["hub_admin"] = {"username": DEMO_HUB_ADMIN, "password": hub_admin_password}
    return demo


def _demo_json(setup: SetupFile, outcome: Outcome, urls: DemoUrls) -> dict[str, Any]:
    (controller,) = outcome.keys["controllers"].values()
    resource_ids: dict[str, str] = outcome.ids["resources"]
    specs = [resource for venue in setup.venues for resource in venue.resources]
    return {
        "base_url": urls.booking,
        "admin": {
            "username": DEMO_ADMIN,
            "password": outcome.keys["staff_passwords"][DEMO_ADMIN],
        },
        "staff": [
            {"username": username, "password": password}
            for username, password in sorted(outcome.keys["staff_passwords"].items())
        ],
        "booking_api_token": outcome.keys["booking_tokens"][DEMO_STAFF_TOKEN],
        "hub_api_key": outcome.keys["hub_api_key"],
        "locks_api_key": controller,
        # The demo customer signs in with a one-time link (POST /api/v1/customer-session/link).
        "customer": {"email": DEMO_CUSTOMER_EMAIL},
        "resources": [
            {"id": resource_ids[spec.name], "name": spec.name, "doors": list(spec.doors)}
            for spec in specs
        ],
        "doors": [
            {"id": door.id, "name": door.name} for site in setup.sites for door in site.doors
        ],
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
