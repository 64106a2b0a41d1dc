"""Reminders: one message per window of a grant, at a set time before the window starts.

Each window gets a job at `start - HALLKEY_REMINDER_MINUTES`, keyed by grant and window start
(so scheduling again never doubles it). The job checks the grant as it is then: a revoked
grant, a window moved or removed, or a start already passed sends nothing. The message itself
is then an ordinary delivery (`access_reminder`), drawn up when sent, with the window's
start on it, and checked once more against the grant when it goes out.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from hallkey.core.clock import ensure_utc
from hallkey.core.jobs import JobRun, once_id
from hallkey.hub import repository as repo
from hallkey.hub import service
from hallkey.hub.context import HubContext
from hallkey.hub.delivery.generations import SUPERSEDED
from hallkey.hub.domain import Window
from hallkey.hub.models import Delivery, Grant

REMIND_JOB = "remind"
REMINDER = "access_reminder"


def schedule_reminders(
    ctx: HubContext, session: Session, grant: Grant, windows: Sequence[Window]
) -> None:
    """Queues a reminder job for each window whose reminder time is still ahead."""
    minutes = ctx.settings.reminder_minutes
    if minutes <= 0 or not grant.deliver_via:
        return
    now = ctx.clock.now()
    for window in windows:
        at = window.valid_from - timedelta(minutes=minutes)
        if at <= now:
            continue  # the granted message itself is the reminder
        start = ensure_utc(window.valid_from).isoformat()
        ctx.jobs.enqueue_once(
            session,
            once_id(REMIND_JOB, f"{grant.id}/{start}"),
            REMIND_JOB,
            {"grant_id": grant.id, "window_at": start},
            run_at=at,
        )


def window_of(windows: Sequence[Window], start: datetime) -> Window | None:
    """Returns the window starting at `start`, if the grant still has it."""
    return next((w for w in windows if ensure_utc(w.valid_from) == ensure_utc(start)), None)


def remind(ctx: HubContext, job: JobRun) -> None:
    """Queues the reminder of one window, if the grant still holds it and it is still ahead."""
    grant_id = str(job.payload["grant_id"])
    start = datetime.fromisoformat(str(job.payload["window_at"]))
    now = ctx.clock.now()
    with ctx.database.transaction() as session:
        grant = repo.lock_grant(session, grant_id)
        if grant is None or grant.state != "active" or now >= start:
            return
        if window_of(repo.grant_windows(session, grant_id), start) is None:
            return  # moved or removed: a moved window has a reminder of its own
        earlier = session.scalars(
            select(Delivery.id).where(
                Delivery.grant_id == grant_id,
                Delivery.template == REMINDER,
                Delivery.window_at == start,
                (Delivery.error.is_(None)) | (Delivery.error != SUPERSEDED),
            )
        ).first()
        if earlier is not None:
            return  # this job ran before (a crash before it was marked done)
        service._add_deliveries(ctx, session, grant, REMINDER, grant.deliver_via, window_at=start)
