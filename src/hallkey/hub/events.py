"""Door events on their way through the hub: a controller's push is checked event by event,
and each client's events leave by its webhook (one signed message each, at once) or, for a
client without one, through its one forwarding job."""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter
from sqlalchemy.orm import Session

from hallkey.core.jobs import once_id
from hallkey.hub import event_store, webhooks
from hallkey.hub.context import HubContext
from hallkey.hub.forwarding import event_body
from hallkey.hub.models import Client, DoorEvent

FORWARD_JOB = "forward_events"

EVENTS_REJECTED = Counter(
    "hallkey_hub_controller_events_rejected_total",
    "Door events of a controller's push that the hub did not store (invalid, unknown door)",
)


def enqueue_forwarding(ctx: HubContext, session: Session, client_id: str) -> None:
    """Makes the client's one forwarding job run (again) now; it sends every waiting event.

    One job per client, whatever the number of pushes: while the booking system is down,
    pushes re-arm that job instead of piling up copies of it.
    """
    ctx.jobs.enqueue_once(
        session,
        once_id(FORWARD_JOB, client_id),
        FORWARD_JOB,
        {"client_id": client_id},
        rearm=True,
        peer=f"client:{client_id}",
    )


def client_webhook(session: Session, client_id: str) -> bool:
    """Tells whether the client's door events go by webhook (not by the forwarding job)."""
    client = session.get(Client, client_id)
    return client is not None and webhooks.has_webhook(client)


def store_event(
    ctx: HubContext, session: Session, values: dict[str, Any], door_name: str, *, by_webhook: bool
) -> bool:
    """Stores a door event (its row `values`) unless its site has it already; tells whether it
    was new. A client with a webhook gets it as a `door.event` message in this transaction (the
    row is marked forwarded, so the forwarding job leaves it alone); for any other the caller
    runs `enqueue_forwarding` once for all it stored."""
    values = {**values, "forwarded_at": ctx.clock.now() if by_webhook else None}
    if not event_store.insert_event_if_new(session, values):
        return False
    if by_webhook:
        body = event_body(DoorEvent(**values), door_name)
        webhooks.enqueue_message(ctx, session, values["client_id"], webhooks.DOOR_EVENT, body)
    return True
