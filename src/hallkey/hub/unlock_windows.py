"""Unlock grants on doors that take one opening at a time (an MQTT relay, not a controller).

Such a device keeps no schedule: `program` opens the door for the window holding now, until
that window's end, and the device relocks it then by itself. So the hub calls `program` again
at every window's start, through one recurring job per grant and door. When the hub is down at
a start, the door stays locked until it is back (it never stays open past an end).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from hallkey.core.jobs import JobRun, RetryLater, once_id
from hallkey.hub import repository as repo
from hallkey.hub import service
from hallkey.hub.connectors.base import ConnectorError, Credential
from hallkey.hub.context import HubContext
from hallkey.hub.domain import Window
from hallkey.hub.models import Door, Grant, GrantDoor, Site

log = logging.getLogger(__name__)

UNLOCK_WINDOW_JOB = "unlock_window"


def queue_window_openings(
    ctx: HubContext, grant_id: str, door_id: str, windows: Sequence[Window]
) -> None:
    """(Re)schedules the grant-door's window job for the next window start, once `program`
    has opened the window holding now (the grant was programmed, moved or granted again)."""
    now = ctx.clock.now()
    starts = [window.valid_from for window in windows if window.valid_from > now]
    if not starts:
        return
    with ctx.database.transaction() as session:
        door = session.get(Door, door_id)
        # Re-armed at the new time: a job still waiting for a start the grant moved away from
        # must not fire then.
        ctx.jobs.enqueue_once(
            session,
            once_id(UNLOCK_WINDOW_JOB, f"{grant_id}:{door_id}"),
            UNLOCK_WINDOW_JOB,
            {"grant_id": grant_id, "door_id": door_id},
            run_at=min(starts),
            rearm=True,
            peer=f"site:{door.site_id}" if door else None,
        )


def open_window(ctx: HubContext, job: JobRun) -> timedelta | None:
    """Opens the door for the window holding now, if any; returns the wait to the next start."""
    grant_id = str(job.payload["grant_id"])
    door_id = str(job.payload["door_id"])
    with ctx.database.transaction() as session:
        row = session.get(GrantDoor, (grant_id, door_id))
        grant = session.get(Grant, grant_id)
        door = session.get(Door, door_id)
        site = session.get(Site, door.site_id) if door else None
        if row is None or grant is None or door is None or site is None:
            return None
        if grant.state != "active" or row.action != "program" or grant.operation != "unlock":
            return None  # revoked or moved off this door: the revocation locked it
        if row.programmed_version < row.desired_version:
            return None  # its program job opens the door and queues this again
        windows = repo.grant_windows(session, grant_id)
        connector = service.site_connector(ctx, site)
        target = service.door_target(door)
        credential = Credential("unlock", None, tuple(windows), version=row.desired_version)
        ref = grant.ref
    now = ctx.clock.now()
    if any(window.valid_from <= now < window.valid_to for window in windows):
        try:
            connector.program(target, ref, credential)
        except ConnectorError as exc:
            if exc.retryable:
                raise RetryLater(f"door {door_id}: {exc.code}") from None
            log.warning("grant %s door %s: window not opened (%s)", grant_id, door_id, exc.code)
        else:
            log.info("grant %s door %s: window opened", grant_id, door_id)
    starts = [window.valid_from for window in windows if window.valid_from > now]
    return min(starts) - now if starts else None
