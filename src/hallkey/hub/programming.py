"""Programming a grant's doors: one job brings the doors of a grant on one site to the state the
hub wants them in, with one call to the site's connector for each change (`program_each`).

A job names its grant and doors (`{"grant_id", "door_ids"}`; a job queued before jobs named
several doors names one, `"door_id"`). Each door keeps its own state, version, attempts and
errors: one door offline does not hold back the others, and its retry skips the doors that
took the change (their programmed version is the desired one).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from prometheus_client import Counter
from sqlalchemy.orm import Session

from hallkey.core.jobs import PRIORITY_REVOKE, JobRun, RetryLater
from hallkey.hub import repository as repo
from hallkey.hub import service, unlock_windows, webhooks
from hallkey.hub.connectors.base import (
    ERROR_CODES,
    ConnectorError,
    Credential,
    DoorOutcomes,
    DoorTarget,
    LockConnector,
    program_each,
    revoke_each,
)
from hallkey.hub.context import HubContext
from hallkey.hub.credentials import credential_type, signing
from hallkey.hub.delivery import alerts
from hallkey.hub.domain import PROGRAM_TRIES_BEFORE_FAILED, SLOW_RETRY_SECONDS, Window
from hallkey.hub.models import Door, Grant, GrantDoor, Site

log = logging.getLogger(__name__)

CODE_CLASH_RETRY_SECONDS = 30.0
"""Wait before programming a door again after it refused the code as held by another ref."""

MAX_REPROGRAM_ROUNDS = 5

DOOR_FAILURES = Counter(
    "hallkey_hub_door_failures_total",
    "Doors of a grant that turned `failed` (an operator should look), by error code",
    ["code"],
)


def enqueue_programming(ctx: HubContext, session: Session, rows: Sequence[GrantDoor]) -> None:
    """Queues the programming (or revocation) of a grant's door rows: one job per site."""
    by_site: dict[str | None, list[GrantDoor]] = {}
    for row in rows:
        # (The door is mostly in the session already.)
        door = session.get(Door, row.door_id)
        by_site.setdefault(door.site_id if door is not None else None, []).append(row)
    for site_id, site_rows in by_site.items():
        # The site is the job's peer: when it answers again the job runs at once. A
        # revocation goes before any programming.
        revokes = any(row.action == "revoke" for row in site_rows)
        ctx.jobs.enqueue(
            session,
            service.PROGRAM_JOB,
            service.program_payload(site_rows[0].grant_id, [row.door_id for row in site_rows]),
            peer=f"site:{site_id}" if site_id is not None else None,
            priority=PRIORITY_REVOKE if revokes else 0,
        )


@dataclass(frozen=True)
class _Change:
    """One call to a site's connector: one action at one version, for some doors of it."""

    connector: LockConnector
    action: str
    version: int
    targets: list[DoorTarget]
    credential: Credential | None
    """What to program (None: revoke)."""
    at_door: bool
    """False for a credential the hub alone checks (a URL key): nothing goes to the door."""
    opens_each_window: bool
    """An unlock on a device that takes one opening at a time: the hub opens each window."""


@dataclass
class _Plan:
    grant_id: str
    ref: str
    changes: list[_Change] = field(default_factory=list)


@dataclass(frozen=True)
class _Outcome:
    version: int
    action: str
    error: ConnectorError | None


def program_doors(ctx: HubContext, job: JobRun) -> None:
    """Brings the named doors of a grant to their desired state through the sites' connectors."""
    grant_id = str(job.payload["grant_id"])
    door_ids = job.listed("door_ids", "door_id")
    errors: list[ConnectorError] = []
    for _ in range(MAX_REPROGRAM_ROUNDS):
        plan = _read_plan(ctx, grant_id, door_ids)
        if plan is None:
            break
        outcomes: dict[str, _Outcome] = {}
        for change in plan.changes:
            for door_id, error in _apply(change, plan.ref).items():
                outcomes[door_id] = _Outcome(change.version, change.action, error)
        door_ids = _record(ctx, plan, outcomes)
        errors += [o.error for o in outcomes.values() if o.error is not None]
        _queue_window_openings(ctx, plan, outcomes, moved=set(door_ids))
        if not door_ids:
            break
    else:
        raise RetryLater(f"grant {grant_id}: desired state keeps moving")
    if errors:
        raise _retry_for(grant_id, errors)


def _read_plan(ctx: HubContext, grant_id: str, door_ids: Sequence[str]) -> _Plan | None:
    """Reads what the doors need, or None when none needs anything (or the grant is gone).

    Only reads: the outcome is settled under the grant's and the doors' row locks, against the
    versions read here, so this need not queue for SQLite's write lock.
    """
    with ctx.database.read() as session:
        found = repo.grant_doors_in_full(session, grant_id, door_ids)
        if found is None:
            return None
        grant, doors = found
        todo = [
            (row, door, site)
            for row, door, site in doors
            if row.programmed_version < row.desired_version or row.state == "pending"
        ]
        if not todo:
            return None
        plan = _Plan(grant_id=grant_id, ref=grant.ref)
        groups: dict[tuple[str, str, int], list[tuple[GrantDoor, Door, Site]]] = {}
        for row, door, site in todo:
            groups.setdefault((site.id, row.action, row.desired_version), []).append(
                (row, door, site)
            )
        windows: tuple[Window, ...] | None = None
        for (_, action, version), members in groups.items():
            if action == "program" and windows is None:
                windows = tuple(repo.grant_windows(session, grant_id))
            plan.changes.append(
                _change(ctx, session, grant, action, version, members, windows or ())
            )
        return plan


def _change(
    ctx: HubContext,
    session: Session,
    grant: Grant,
    action: str,
    version: int,
    members: list[tuple[GrantDoor, Door, Site]],
    windows: tuple[Window, ...],
) -> _Change:
    connector = service.site_connector(ctx, members[0][2])
    kind = credential_type(grant.credential)
    unlock = grant.operation == "unlock"
    # A credential the hub alone checks (a URL key) has nothing to put on the door; an
    # unlock grant always has: its schedule.
    at_door = unlock or kind is None or kind.stored_at_door
    credential: Credential | None = None
    if action == "program" and unlock:
        # An unlock grant programs a schedule, not its credential: no code.
        credential = Credential(type="unlock", code=None, windows=windows, version=version)
    elif action == "program" and at_door:
        credential = Credential(
            type=grant.credential,
            code=kind.door_code(ctx, grant) if kind else None,
            windows=windows,
            version=version,
            # The reader of a mobile key verifies it offline with these.
            keys=tuple(signing.published(ctx, session)) if grant.credential == "mobile_key" else (),
        )
    return _Change(
        connector=connector,
        action=action,
        version=version,
        targets=[service.door_target(door) for _, door, _ in members],
        credential=credential,
        at_door=at_door,
        # A device that takes one opening at a time needs the hub at each window's start.
        opens_each_window=action == "program" and unlock and not connector.keeps_schedules,
    )


def _apply(change: _Change, ref: str) -> DoorOutcomes:
    if not change.at_door:
        return {target.id: None for target in change.targets}
    if change.credential is None:
        return revoke_each(change.connector, change.targets, ref, change.version)
    return program_each(change.connector, change.targets, ref, change.credential)


def _record(ctx: HubContext, plan: _Plan, outcomes: Mapping[str, _Outcome]) -> list[str]:
    """Records each door's outcome under the grant's and its doors' row locks (as every version
    change takes them, see hub.grants); returns the doors whose desired state moved on while
    the change was on its way, to be applied again."""
    now = ctx.clock.now()
    moved: list[str] = []
    with ctx.database.transaction() as session:
        found = repo.lock_grant_with_client(session, plan.grant_id)
        if found is None:
            return []
        grant, client = found
        # All the grant's door rows, not only these: the grant's state that its webhook is told
        # names every door. Whoever changes one holds the grant's lock first: no added wait.
        rows = repo.lock_grant_doors(session, plan.grant_id)
        by_door = {row.door_id: row for row in rows}
        state_changed = False
        audits: list[dict[str, Any]] = []
        for door_id, outcome in outcomes.items():
            row = by_door.get(door_id)
            if row is None:
                continue
            if row.desired_version != outcome.version:
                if outcome.error is None:
                    # What just landed at the door is stale: a newer program or revoke may
                    # have landed before it. Pending, so the current version goes again, last.
                    row.state = "pending"
                    moved.append(door_id)
                continue
            if outcome.error is None:
                state_changed |= _succeeded(row, outcome.action, now)
            else:
                state_changed |= _failed(ctx, session, grant, row, outcome.error, now)
            code = "ok" if outcome.error is None else outcome.error.code
            audits.append(
                repo.audit_entry(grant.client_id, grant.ref, outcome.action, door_id, code, now)
            )
        repo.add_audits(session, audits)
        if state_changed:
            webhooks.grant_state_changed(ctx, session, grant, client=client, rows=rows)
    for door_id, outcome in outcomes.items():
        if outcome.error is None and door_id not in moved:
            log.info("grant %s door %s: %s ok", plan.grant_id, door_id, outcome.action)
        elif outcome.error is not None:
            log.info(
                "grant %s door %s: %s (retryable=%s)",
                plan.grant_id,
                door_id,
                outcome.error.code,
                _retryable(outcome.error),
            )
    return moved


def _succeeded(row: GrantDoor, action: str, now: datetime) -> bool:
    """Records the applied version; tells whether the door's state changed."""
    row.programmed_version = max(row.programmed_version, row.desired_version)
    state = "programmed" if action == "program" else "revoked"
    changed = row.state != state
    row.state = state
    row.errors = []
    row.attempts = 0
    row.updated_at = now
    return changed


def _failed(
    ctx: HubContext,
    session: Session,
    grant: Grant,
    row: GrantDoor,
    exc: ConnectorError,
    now: datetime,
) -> bool:
    """Counts a failed try; tells whether the door turned `failed` (an operator's alert)."""
    row.attempts += 1
    row.errors = [{"code": exc.code, "message": exc.message}]
    row.updated_at = now
    turns_failed = row.state != "failed" and (
        not _retryable(exc) or row.attempts >= PROGRAM_TRIES_BEFORE_FAILED
    )
    if turns_failed:
        row.state = "failed"
        # The operator's alert: ids and the error code only.
        DOOR_FAILURES.labels(exc.code if exc.code in ERROR_CODES else "other").inc()
        log.warning("grant %s door %s failed: %s", grant.id, row.door_id, exc.code)
        alerts.queue_alert(
            ctx,
            session,
            alerts.PROGRAMMING_FAILED,
            {"door_id": row.door_id, "ref": grant.ref, "error": exc.code, "action": row.action},
        )
    return turns_failed


def _retryable(exc: ConnectorError) -> bool:
    # A code clash can be passing: another grant's move that its door has not heard of yet.
    # It is retried like an offline door (and shown `failed` after a few tries).
    return exc.retryable or exc.code == "code_rejected"


def _retry_for(grant_id: str, errors: Sequence[ConnectorError]) -> RetryLater:
    """The job's next try: as soon as the most hopeful of its doors' failures allows."""
    codes = ",".join(sorted({exc.code for exc in errors}))
    if any(exc.retryable for exc in errors):
        return RetryLater(f"grant {grant_id}: {codes}")
    if any(exc.code == "code_rejected" for exc in errors):
        # The lock answered: probing it sooner cannot help; the clash ends when the other
        # grant's change lands there.
        return RetryLater(
            f"grant {grant_id}: {codes}", after_seconds=CODE_CLASH_RETRY_SECONDS, keep_schedule=True
        )
    # Refused for good as things stand (a full door, an unknown door): an operator may mend
    # it, and the door must then follow without anyone asking. Slowly.
    return RetryLater(
        f"grant {grant_id}: {codes}", after_seconds=SLOW_RETRY_SECONDS, keep_schedule=True
    )


def _queue_window_openings(
    ctx: HubContext, plan: _Plan, outcomes: Mapping[str, _Outcome], *, moved: set[str]
) -> None:
    for change in plan.changes:
        if not change.opens_each_window or change.credential is None:
            continue
        for target in change.targets:
            outcome = outcomes.get(target.id)
            if outcome is not None and outcome.error is None and target.id not in moved:
                unlock_windows.queue_window_openings(
                    ctx, plan.grant_id, target.id, change.credential.windows
                )
