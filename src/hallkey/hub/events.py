"""Door events on their way through the hub: a controller's push is checked event by event,
and each client's events leave through one forwarding job."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from prometheus_client import Counter
from pydantic import ValidationError
from sqlalchemy.orm import Session

from hallkey.core.jobs import once_id
from hallkey.hub.context import HubContext
from hallkey.hub.schemas import ControllerEventIn, RejectedEventOut

FORWARD_JOB = "forward_events"
MAX_EVENT_ID_LENGTH = 64

EVENTS_REJECTED = Counter(
    "hallkey_hub_controller_events_rejected_total",
    "Door events of a controller's push that the hub did not store (invalid, unknown door)",
)


def rejected_event(
    index: int, raw: Any, code: str, message: str, field: str | None
) -> RejectedEventOut:
    """Returns the entry of `rejected` for the event at `index` of a push."""
    event_id = raw.get("id") if isinstance(raw, dict) else None
    # The id is echoed only when it could be one: a made-up value is not sent back.
    if not isinstance(event_id, str) or not 1 <= len(event_id) <= MAX_EVENT_ID_LENGTH:
        event_id = None
    return RejectedEventOut(index=index, id=event_id, code=code, message=message, field=field)


def check_event(index: int, raw: Any) -> ControllerEventIn | RejectedEventOut:
    """Validates one event of a push on its own; returns it, or why it is rejected."""
    try:
        # Validated as JSON, exactly as a request body is: the same rules for times and types.
        return ControllerEventIn.model_validate_json(json.dumps(raw))
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or None
        message = str(first["msg"])
        text = f"{field}: {message}" if field else message
        return rejected_event(index, raw, "invalid", text, field)


def split_events(
    raw_events: Sequence[Any],
) -> tuple[list[tuple[int, ControllerEventIn]], list[RejectedEventOut]]:
    """Returns the valid events of a push (with their index) and the rejected ones."""
    valid: list[tuple[int, ControllerEventIn]] = []
    rejected: list[RejectedEventOut] = []
    for index, raw in enumerate(raw_events):
        checked = check_event(index, raw)
        if isinstance(checked, RejectedEventOut):
            rejected.append(checked)
        else:
            valid.append((index, checked))
    return valid, rejected


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
