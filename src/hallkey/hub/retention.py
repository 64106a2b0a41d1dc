"""The hub's retention purges: what it forgets once a grant is over (recipients, SMS answers
with their numbers, webhook messages delivered), run daily by the `purge_recipients` job."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, or_, update
from sqlalchemy.orm import Session

from hallkey.hub.models import Delivery, Grant, WebhookMessage

PURGED_FINGERPRINT = "purged"
"""Stands for a fingerprint deleted with the recipient: no request matches it any more."""


def purge_recipients(session: Session, cutoff: datetime, now: datetime) -> int:
    """Deletes phone and email of grants that ended, or were revoked, before `cutoff`.

    The request fingerprint goes too: it is keyed by the hub's secret, but it was taken over
    the phone and email, so it could confirm a guessed number.
    """
    result = session.execute(
        update(Grant)
        .where(
            or_(
                Grant.recipient_phone_sealed.is_not(None),
                Grant.recipient_email_sealed.is_not(None),
                Grant.phone_digest.is_not(None),
            ),
            or_(Grant.valid_to_at <= cutoff, Grant.revoked_at <= cutoff),
        )
        .values(
            recipient_phone_sealed=None,
            recipient_email_sealed=None,
            phone_digest=None,
            fingerprint=PURGED_FINGERPRINT,
            recipient_purged_at=now,
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


def purge_sms_answers(session: Session, cutoff: datetime) -> int:
    """Deletes the answers to inbound SMS (with their number) made before `cutoff`."""
    result = session.execute(
        delete(Delivery).where(Delivery.grant_id.is_(None), Delivery.created_at <= cutoff)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def purge_delivered_webhooks(session: Session, cutoff: datetime) -> int:
    """Deletes webhook messages acknowledged before `cutoff` (dead letters stay for the
    operator)."""
    result = session.execute(
        delete(WebhookMessage).where(
            WebhookMessage.state == "delivered", WebhookMessage.delivered_at <= cutoff
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
