"""Background jobs of the door controller: pushing door events to the hub, a heartbeat."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from hallkey.core.http import PeerError, call_json, make_client
from hallkey.core.jobs import GiveUp, Handler, JobRun
from hallkey.locks import domain, event_queries, repository
from hallkey.locks.models import Controller, Door
from hallkey.locks.push import send_events
from hallkey.locks.service import (
    DOOR_SCHEDULE,
    PUSH_EVENTS,
    PUSH_SWEEP,
    queue_push,
    record_event,
)

if TYPE_CHECKING:
    from hallkey.locks.context import LocksContext

log = logging.getLogger(__name__)

PUSH_BATCH = 200
"""Most events sent to the hub in one request."""

SWEEP_EVERY = timedelta(minutes=1)
"""How soon an event that came in while its controller's push was finishing goes out."""

HEARTBEAT = "hub_heartbeat"
HEARTBEAT_ID = "job_locks_hub_heartbeat"
"""The recurring job telling the hub, for each linked controller, that it is reachable."""


def queue_heartbeat(ctx: LocksContext) -> None:
    """Makes the heartbeat run now (a worker that starts tells the hub it is back at once)."""
    with ctx.database.transaction() as session:
        ctx.jobs.enqueue_once(session, HEARTBEAT_ID, HEARTBEAT, rearm=True)


def handlers(ctx: LocksContext) -> dict[str, Handler]:
    """Returns the job handlers of the door controller, by job kind."""

    def push_events(job: JobRun) -> None:
        controller_id = str(job.payload.get("controller_id", ""))
        while push_pending_events(ctx, controller_id) == PUSH_BATCH:
            pass

    def push_sweep(job: JobRun) -> timedelta:
        with ctx.database.transaction() as session:
            for controller_id in event_queries.controllers_with_unpushed_events(session):
                queue_push(ctx, session, controller_id)
        return SWEEP_EVERY

    def hub_heartbeat(job: JobRun) -> timedelta:
        if send_heartbeats(ctx):
            with ctx.database.transaction() as session:
                ctx.jobs.wake_peer(session, "hub")  # it answers: pushes need not wait
        return timedelta(seconds=ctx.settings.locks_heartbeat_seconds)

    def door_schedule(job: JobRun) -> timedelta:
        return follow_schedules(ctx)

    return {
        PUSH_EVENTS: push_events,
        PUSH_SWEEP: push_sweep,
        HEARTBEAT: hub_heartbeat,
        DOOR_SCHEDULE: door_schedule,
    }


SCHEDULE_CHECK_MAX = timedelta(minutes=1)
"""The longest the schedule job sleeps: a clock step or a lost wake-up is caught this soon."""


def follow_schedules(ctx: LocksContext) -> timedelta:
    """Unlocks and locks every door by its unlock schedules, recording `unlocked` and `locked`
    events by ref; returns how long until the next start or end of a window.

    The controller does this on its own clock: it needs the hub only to be told the schedule,
    so a door locks at the end of its window whether or not the hub is up then.
    """
    with ctx.database.transaction() as session:
        now = ctx.clock.now()
        door_ids = repository.doors_with_schedules(session, now)
        schedules = repository.unlock_schedules(session, door_ids, now)
        upcoming: list[datetime] = []
        for door_id in door_ids:
            door = session.get(Door, door_id, with_for_update=True)
            if door is None:
                continue
            held = dict(schedules[door_id])
            current = domain.current_unlock(held, now)
            wanted = current.ref if current else None
            if door.schedule_ref != wanted:
                if door.schedule_ref is not None:
                    record_event(ctx, session, door, "locked", at=now, ref=door.schedule_ref)
                    log.info("door %s locked: its unlock schedule ended", door.id)
                if wanted is not None:
                    record_event(ctx, session, door, "unlocked", at=now, ref=wanted)
                    log.info("door %s unlocked by its schedule", door.id)
                door.schedule_ref = wanted
            change = domain.next_schedule_change(held, now)
            if change is not None:
                upcoming.append(change)
    wait = min((moment - now for moment in upcoming), default=SCHEDULE_CHECK_MAX)
    return min(max(wait, timedelta(0)), SCHEDULE_CHECK_MAX)


def send_heartbeats(ctx: LocksContext) -> bool:
    """POSTs an empty batch of events to the hub for each linked controller; tells whether
    the hub answered one. The hub takes any call of a site as "reachable now" and then sends
    what waited for the controller, revocations first (and reconciles its doors)."""
    with ctx.database.transaction() as session:
        linked = session.scalars(
            select(Controller).where(
                Controller.hub_events_url.is_not(None),
                Controller.hub_events_token_sealed.is_not(None),
            )
        )
        links = [
            (c.id, c.hub_events_url, ctx.box.open(c.hub_events_token_sealed))
            for c in linked
            if c.hub_events_url and c.hub_events_token_sealed
        ]
    answered = False
    for controller_id, url, token in links:
        try:
            with make_client(url, token, ctx.settings.http_timeout_seconds) as client:
                call_json(client, "POST", url, {"events": []}, ok_statuses=(200,))
        except PeerError as exc:
            log.info("heartbeat of controller %s: hub %s", controller_id, exc.status or exc.code)
            continue
        answered = True
    return answered


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
        events = event_queries.unpushed_events(session, controller_id, PUSH_BATCH)
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
