"""Background jobs of the door controller: pushing door events to the hub."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from hallkey.core.jobs import GiveUp, Handler, JobRun
from hallkey.locks import repository
from hallkey.locks.push import send_events
from hallkey.locks.service import PUSH_EVENTS, PUSH_SWEEP, queue_push

if TYPE_CHECKING:
    from hallkey.locks.context import LocksContext

log = logging.getLogger(__name__)

PUSH_BATCH = 200
"""Most events sent to the hub in one request."""

SWEEP_EVERY = timedelta(minutes=1)
"""How soon an event that came in while its controller's push was finishing goes out."""


def handlers(ctx: LocksContext) -> dict[str, Handler]:
    """Returns the job handlers of the door controller, by job kind."""

    def push_events(job: JobRun) -> None:
        controller_id = str(job.payload.get("controller_id", ""))
        while push_pending_events(ctx, controller_id) == PUSH_BATCH:
            pass

    def push_sweep(job: JobRun) -> timedelta:
        with ctx.database.transaction() as session:
            for controller_id in repository.controllers_with_unpushed_events(session):
                queue_push(ctx, session, controller_id)
        return SWEEP_EVERY

    return {PUSH_EVENTS: push_events, PUSH_SWEEP: push_sweep}


def _utc_z(value: Any) -> str:
    return str(value.isoformat()).replace("+00:00", "Z")


def push_pending_events(ctx: LocksContext, controller_id: str) -> int:
    """Sends up to one batch of the controller's unpushed events to the hub; returns how many.

    The hub call happens outside any transaction: read, call, then write the outcome.
    Raises RetryLater while the hub is unreachable or failing (the events stay queued); the
    events the hub rejects are quarantined (see `push`).
    """
    with ctx.database.transaction() as session:
        controller = repository.controller(session, controller_id)
        if controller is None:
            raise GiveUp("unknown controller")
        if not controller.hub_events_url or not controller.hub_events_token_sealed:
            return 0  # no hub link: the events wait until one is set
        url = controller.hub_events_url
        token = ctx.box.open(controller.hub_events_token_sealed)
        events = repository.unpushed_events(session, controller_id, PUSH_BATCH)
        body = {
            "events": [
                {
                    "id": e.id,
                    "door": e.door_id,
                    "ref": e.ref,
                    "kind": e.kind,
                    "reason": e.reason,
                    "at": _utc_z(e.at),
                }
                for e in events
            ]
        }
        event_ids = [e.id for e in events]
    if not event_ids:
        return 0
    # A refusal that no event explains leaves them unpushed; the sweep queues them again.
    send_events(ctx, url, token, body["events"])
    log.info("pushed %d events of controller %s to the hub", len(event_ids), controller_id)
    return len(event_ids)
