"""Door events on their way through the hub: a controller's push is checked event by event,
and each client's events leave through one forwarding job."""

from __future__ import annotations

from prometheus_client import Counter
from sqlalchemy.orm import Session

from hallkey.core.jobs import once_id
from hallkey.hub.context import HubContext

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
