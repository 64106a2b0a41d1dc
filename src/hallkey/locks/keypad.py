"""The keypad's decision at the door: a typed code against the door's credentials (by the
code's digest, never the code), their windows and revocations, and the lock-out after five
wrong codes; the door unlocks when granted, and every decision is an event for the hub."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from prometheus_client import Counter

from hallkey.locks import domain, event_queries, repository, service
from hallkey.locks.schemas import KeypadOut

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from hallkey.locks.context import LocksContext

log = logging.getLogger(__name__)

KEYPAD_PRESSES_WHILE_LOCKED_OUT = Counter(
    "hallkey_locks_keypad_locked_out_presses_total",
    "Keypad entries refused while locked out after the one recorded event of the period",
)


def keypad(
    ctx: LocksContext, session: Session, controller_id: str, door_id: str, typed: str
) -> KeypadOut:
    """Decides on a code typed at the door's keypad, unlocking the door when granted."""
    door = service.door_for_update(session, controller_id, door_id)
    now = ctx.clock.now()  # the one `now` of this whole decision
    if door.locked_out_until_at is not None and domain.is_locked_out(door.locked_out_until_at, now):
        # One denial event per lock-out period: a flood at a locked keypad must not fill the
        # events table (and the outbox); the presses after it are only counted.
        started = domain.lockout_started(door.locked_out_until_at)
        if event_queries.has_lockout_denial(session, door.id, since=started):
            KEYPAD_PRESSES_WHILE_LOCKED_OUT.inc()
        else:
            service.record_event(ctx, session, door, "access_denied", at=now, reason="locked_out")
        return KeypadOut(granted=False, reason="locked_out")

    code = domain.normalise_keypad_code(typed)
    candidates: list[domain.CredentialCandidate] = []
    if code is not None:
        matches = repository.credentials_by_digest(
            session, door.id, service.code_digest(ctx, session, controller_id, code)
        )
        windows = repository.windows_of(session, [c.id for c in matches])
        candidates = [
            domain.CredentialCandidate(c.ref, c.revoked, service.domain_windows(windows[c.id]))
            for c in matches
        ]
    decision = domain.decide(candidates, now)

    if decision.granted:
        door.unlocked_until_at = domain.extend_unlock(
            door.unlocked_until_at, now, ctx.settings.locks_keypad_unlock_seconds
        )
        service.record_event(ctx, session, door, "access_granted", at=now, ref=decision.ref)
        log.info("keypad at door %s: granted to %s", door.id, decision.ref)
        return KeypadOut(granted=True, ref=decision.ref)

    service.record_event(
        ctx, session, door, "access_denied", at=now, ref=decision.ref, reason=decision.reason
    )
    log.info("keypad at door %s: refused (%s)", door.id, decision.reason)
    failures = event_queries.failure_times(session, door.id, domain.failures_since(now))
    recent = domain.count_recent_failures(failures, now, door.locked_out_until_at)
    until = domain.lockout_until(recent, now)
    if until is not None:
        door.locked_out_until_at = until
        service.record_event(ctx, session, door, "keypad_locked_out", at=now)
        log.warning("keypad at door %s locked out until %s", door.id, until.isoformat())
    return KeypadOut(granted=False, reason=decision.reason)
