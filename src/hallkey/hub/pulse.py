"""Sending a checked pulse to a door, from GrantPulseAccess or a URL key's page."""

from __future__ import annotations

import logging
from datetime import datetime

from hallkey.core.errors import AppError, Unavailable
from hallkey.hub import repository as repo
from hallkey.hub import service
from hallkey.hub.connectors.base import ConnectorError
from hallkey.hub.context import HubContext

log = logging.getLogger(__name__)


def _pulse(plan: service.PulsePlan) -> datetime:
    """Sends a planned pulse; every failure becomes a clean 503 naming the door."""
    if plan.connector is None:
        raise service.SiteMisconfigured(
            "the site of this door is misconfigured; an operator must mend it", field="door"
        )
    try:
        return plan.connector.pulse(plan.door, plan.seconds, plan.ref)
    except ConnectorError as exc:
        raise Unavailable(exc.message, field="door", code=exc.code) from None
    except Exception as exc:
        # A connector's own bug or an unexpected failure of its transport: the type only,
        # as its message may quote the site's config.
        log.error("pulse at door %s failed: %s", plan.door.id, type(exc).__name__)
        raise Unavailable(
            "the door could not be reached", field="door", code="door_unavailable"
        ) from None


def send_pulse(ctx: HubContext, plan: service.PulsePlan) -> datetime:
    """Opens the planned door (outside any transaction) and audits the outcome; returns when
    the door relocks, or raises an AppError (503) when it could not be opened."""
    outcome = "error"
    try:
        until = _pulse(plan)
        outcome = "ok"
    except AppError as exc:
        outcome = exc.code
        raise
    finally:
        with ctx.database.transaction() as session:
            repo.add_audit(
                session,
                client_id=plan.client_id,
                ref=plan.ref,
                action="pulse",
                door_id=plan.door.id,
                outcome=outcome,
                at=ctx.clock.now(),
            )
    return until
