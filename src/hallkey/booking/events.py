"""Door events pushed by the hub, stored by ref so staff can see a booking was used.

A batch is taken partially: each event is checked on its own, good ones are stored (once per
tenant and event id), bad ones are listed with why, so one odd event never blocks the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hallkey.booking import repository as repo
from hallkey.booking.models import AccessEvent
from hallkey.booking.schemas import AcceptedOut, AccessEventIn, RejectedEventOut

if TYPE_CHECKING:
    from hallkey.booking.context import BookingContext

log = logging.getLogger(__name__)


def _rejection(index: int, raw: Any, exc: ValidationError) -> RejectedEventOut:
    """Returns why an event was refused: the first error's field and message, never a value."""
    raw_id = raw.get("id") if isinstance(raw, dict) else None
    first = exc.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or None
    return RejectedEventOut(
        index=index,
        id=raw_id if isinstance(raw_id, str) and len(raw_id) <= 64 else None,
        code="invalid",
        message=f"{field}: {first['msg']}" if field else str(first["msg"]),
        field=field,
    )


def check_events(raw_events: Sequence[Any]) -> tuple[list[AccessEventIn], list[RejectedEventOut]]:
    """Returns the valid events of a batch and the rejection of each invalid one."""
    valid: list[AccessEventIn] = []
    rejected: list[RejectedEventOut] = []
    for index, raw in enumerate(raw_events):
        try:
            valid.append(AccessEventIn.model_validate(raw))
        except ValidationError as exc:
            rejected.append(_rejection(index, raw, exc))
    return valid, rejected


def record_access_events(
    ctx: BookingContext, session: Session, tenant_id: str, raw_events: Sequence[Any]
) -> AcceptedOut:
    """Stores the valid door events of a batch, each once per tenant; lists the invalid ones."""
    events, rejected = check_events(raw_events)
    now = ctx.clock.now()
    known = repo.existing_event_ids(session, tenant_id, [e.id for e in events])
    for event in events:
        if event.id in known:
            continue
        known.add(event.id)
        row = AccessEvent(
            tenant_id=tenant_id,
            event_id=event.id,
            ref=event.ref,
            door=event.door,
            door_name=event.door_name,
            kind=event.kind,
            reason=event.reason,
            at=event.at,
            received_at=now,
        )
        try:
            # A concurrent retry of the same push may store it first: that is fine.
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            continue
    if rejected:
        # Indexes and codes only: an event's content may hold a ref a log must not link.
        log.warning(
            "door events for tenant %s: %d rejected (indexes %s)",
            tenant_id,
            len(rejected),
            ",".join(str(r.index) for r in rejected[:20]),
        )
    log.info("stored door events for tenant %s: %d accepted", tenant_id, len(events))
    return AcceptedOut(accepted=len(events), rejected=rejected)
