"""The reconciler: compares what every door should hold with what it reports, and repairs it.

Programming is retried until it holds, but a door can still drift afterwards: a controller
restored from a backup, a credential deleted on site, a revocation lost with a replaced lock.
A recurring job queues one `reconcile_door` job per door (at most one queued per door, so
slow or offline doors never pile up); each asks the door for its live credentials, compares
them with the grants the hub believes applied there, and repairs the difference through the
normal programming jobs. It also keeps each door's `online`, `battery` and `last_seen`.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from prometheus_client import Counter
from sqlalchemy import select
from sqlalchemy.orm import Session

from hallkey.core.jobs import JobRun, once_id
from hallkey.hub import reconcile_queries, service
from hallkey.hub import repository as repo
from hallkey.hub.connectors.base import (
    STORE_CREDENTIALS,
    ConnectorError,
    DoorTarget,
    HeldCredential,
    LockConnector,
)
from hallkey.hub.context import HubContext
from hallkey.hub.credentials import CREDENTIALS
from hallkey.hub.delivery import alerts
from hallkey.hub.domain import WantedCredential, door_drift
from hallkey.hub.models import Door, Grant, GrantDoor, Site

log = logging.getLogger(__name__)

RECONCILE_DOOR_JOB = "reconcile_door"
RECONCILE_PAGE = 1000
"""Refs compared at a time: a door's credentials, and the hub's rows for it, are read a page
at a time, so that a door holding 50,000 codes costs the reconciler no more memory than one
holding 1,000 (all at once, 5,000 codes on each of two doors raised the server's RSS by 29 MB
for good, and the held refs went into one SQL `IN` list of that length)."""

HUB_ONLY = tuple(name for name, kind in CREDENTIALS.items() if not kind.stored_at_door)
"""Credential types the doors never hold (a URL key): nothing of them to compare."""

DRIFT_REPAIRED = Counter(
    "hallkey_hub_reconcile_repairs_total",
    "Differences between a door and the hub that the reconciler repaired",
    ["kind"],
)
DOORS_WENT_OFFLINE = Counter(
    "hallkey_hub_doors_went_offline_total",
    "Doors the hub saw go offline: an operator alert (with a WARNING line naming the door)",
    ["connector"],
)


def reconcile_doors(ctx: HubContext, job: JobRun) -> timedelta:
    """Queues one reconcile job per door; runs again after the reconcile interval."""
    with ctx.database.transaction() as session:
        door_ids = session.scalars(select(Door.id).order_by(Door.id)).all()
        for door_id in door_ids:
            job_id = once_id(RECONCILE_DOOR_JOB, door_id)
            ctx.jobs.enqueue_once(session, job_id, RECONCILE_DOOR_JOB, {"door_id": door_id})
    return timedelta(seconds=ctx.settings.hub_reconcile_seconds)


def site_seen(ctx: HubContext, session: Session, site: Site) -> None:
    """Reacts to an authenticated call from a site's controller: the site is reachable now.

    Its waiting programming jobs run at once (revocations first) instead of after their
    backoff; and when the hub thought a door offline, or has not heard from the site since this
    process started, its doors are reconciled at once: a controller that restarted may have
    lost, or kept, credentials that the hub changed meanwhile.
    """
    ctx.jobs.wake_peer(session, f"site:{site.id}")
    doors = session.execute(select(Door.id, Door.online).where(Door.site_id == site.id)).all()
    if site.id in ctx.sites_seen and all(online for _, online in doors):
        return
    for door_id, _ in doors:
        job_id = once_id(RECONCILE_DOOR_JOB, door_id)
        # After the woken programming: what the hub knows must change goes first.
        payload = {"door_id": door_id}
        ctx.jobs.enqueue_once(session, job_id, RECONCILE_DOOR_JOB, payload, priority=-1)
    ctx.sites_seen.add(site.id)


def reconcile_door(ctx: HubContext, job: JobRun) -> None:
    """Reads one door's health and live credentials and repairs what differs, a page of refs
    at a time (`RECONCILE_PAGE`)."""
    door_id = str(job.payload["door_id"])
    with ctx.database.read() as session:
        door = session.get(Door, door_id)
        site = session.get(Site, door.site_id) if door else None
        if door is None or site is None:
            return
        connector = service.site_connector(ctx, site)
        target = service.door_target(door)
        client_id = site.client_id
        kind = site.connector
    try:
        status = connector.status(target)
    except ConnectorError as exc:
        _unreachable(ctx, door_id, kind, exc)
        return
    _record_health(ctx, door_id, kind, online=status.online, battery=status.battery)
    if STORE_CREDENTIALS not in connector.capabilities:
        return
    after: str | None = None
    while True:
        with ctx.database.read() as session:
            # Read before asking the door: a row that changes meanwhile is left to its own job.
            rows = [
                (ref, row.grant_id, row.desired_version)
                for row, ref in reconcile_queries.applied_at_door(
                    session,
                    door_id,
                    ctx.clock.now(),
                    hub_only=HUB_ONLY,
                    after=after,
                    limit=RECONCILE_PAGE,
                )
            ]
        try:
            held = connector.live_credentials(target, after=after, limit=RECONCILE_PAGE)
        except ConnectorError as exc:
            _unreachable(ctx, door_id, kind, exc)
            return
        end = _page_end([row[0] for row in rows], [credential.ref for credential in held])
        applied = {
            ref: (grant_id, version) for ref, grant_id, version in rows if end is None or ref <= end
        }
        held = [credential for credential in held if end is None or credential.ref <= end]
        stray = _repair_applied(ctx, door_id, applied, held, after=after, upto=end)
        versions = {credential.ref: credential.version for credential in held}
        _revoke_stray(ctx, connector, target, client_id, {ref: versions[ref] for ref in stray})
        if end is None:
            return
        after = end


def _page_end(hub_refs: list[str], door_refs: list[str]) -> str | None:
    """Returns the last ref a page compares: a side that filled its page may hold more after
    its last ref, so the page ends at the lower of the full sides' last refs (None: neither
    side has more, the page runs to the end)."""
    ends = [refs[-1] for refs in (hub_refs, door_refs) if len(refs) >= RECONCILE_PAGE]
    return min(ends) if ends else None


def _unreachable(ctx: HubContext, door_id: str, connector: str, exc: ConnectorError) -> None:
    """Records the door offline: unreachable or no longer known there, either way nobody can
    pass it now."""
    _record_health(ctx, door_id, connector, online=False, battery=None)
    log.info("reconcile door %s: %s", door_id, exc.code)


def _record_health(
    ctx: HubContext, door_id: str, connector: str, *, online: bool, battery: int | None
) -> None:
    now = ctx.clock.now()
    with ctx.database.transaction() as session:
        door = session.get(Door, door_id)
        if door is None:
            return
        if door.online and not online:
            DOORS_WENT_OFFLINE.labels(connector).inc()
            log.warning("door %s (%s) went offline", door_id, connector)
            alerts.queue_alert(ctx, session, alerts.DOOR_OFFLINE, {"door_id": door_id})
        elif online and not door.online:
            log.info("door %s is back online", door_id)
        door.online = online
        if online:
            door.last_seen_at = now
            door.battery = battery if battery is not None else door.battery


def _repair_applied(
    ctx: HubContext,
    door_id: str,
    applied: dict[str, tuple[str, int]],
    held: list[HeldCredential],
    *,
    after: str | None,
    upto: str | None,
) -> list[str]:
    """Pushes again every applied grant with a ref in (`after`, `upto`] that the door does not
    hold as wanted; returns the stray refs among `held`."""
    now = ctx.clock.now()
    held_windows = {credential.ref: credential.windows for credential in held}
    with ctx.database.transaction() as session:
        # Rows changed since the first read are left to their own programming job. A ref the
        # door still honours is checked even if its grant has ended (a shortened grant).
        rows: dict[str, GrantDoor] = {
            ref: row
            for row, ref in reconcile_queries.applied_at_door(
                session, door_id, now, held_windows, hub_only=HUB_ONLY, after=after, upto=upto
            )
            if ref not in applied or applied[ref] == (row.grant_id, row.desired_version)
        }
        windows = reconcile_queries.windows_of_grants(
            session, [row.grant_id for row in rows.values()]
        )
        wanted = [
            WantedCredential(ref, row.action, tuple(windows[row.grant_id]))
            for ref, row in rows.items()
        ]
        known = reconcile_queries.refs_granted_at_door(session, door_id, held_windows)
        drift = door_drift(wanted, held_windows, known, now)
        pushed: list[str] = []
        for ref in drift.reapply:
            row = rows[ref]
            action = row.action
            if not service.push_door_again(
                ctx, session, row.grant_id, row.door_id, row.desired_version
            ):
                continue  # changed meanwhile (a revocation, a move): its own job applies it
            pushed.append(ref)
            grant = session.get(Grant, row.grant_id)
            if grant is not None:
                repo.add_audit(
                    session,
                    client_id=grant.client_id,
                    ref=ref,
                    action=f"reconcile_{action}",
                    door_id=door_id,
                    outcome="drift",
                    at=now,
                )
            DRIFT_REPAIRED.labels("reapply").inc()
    if pushed:
        log.warning("door %s: %d credentials differed; pushed again", door_id, len(pushed))
    return list(drift.stray)


def _revoke_stray(
    ctx: HubContext,
    connector: LockConnector,
    target: DoorTarget,
    client_id: str,
    stray: dict[str, int],
) -> None:
    """Revokes live credentials the hub never granted at this door (at the version the door
    reports, which the revocation must match to win)."""
    for ref, version in stray.items():
        try:
            connector.revoke(target, ref, version)
        except ConnectorError as exc:
            log.info("door %s: stray credential not revoked yet (%s)", target.id, exc.code)
            return
        with ctx.database.transaction() as session:
            repo.add_audit(
                session,
                client_id=client_id,
                ref=ref,
                action="reconcile_stray",
                door_id=target.id,
                outcome="revoked",
                at=ctx.clock.now(),
            )
        DRIFT_REPAIRED.labels("stray").inc()
        log.warning("door %s: revoked a credential the hub never granted", target.id)
