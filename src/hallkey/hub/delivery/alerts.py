"""Operator alerts by email (`HALLKEY_OPERATOR_EMAIL`): a door gone offline, a programming
failed for good. They are deliveries like a guest's messages (queued in the transaction that
noticed the fault, retried with backoff), with no grant: their `facts` name the door, and for
a programming the grant's ref and the error code; never a person, a code or a key.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from hallkey.core.messaging.base import OutgoingMessage
from hallkey.hub import service
from hallkey.hub.context import HubContext
from hallkey.hub.delivery.templates import format_moment, render_alert
from hallkey.hub.models import Delivery, Door, Site

DOOR_OFFLINE = "door_offline"
PROGRAMMING_FAILED = "programming_failed"


def queue_alert(ctx: HubContext, session: Session, template: str, facts: dict[str, Any]) -> None:
    """Queues an alert to the operator in the caller's transaction (none without an address)."""
    address = ctx.settings.operator_email
    if not address:
        return
    service.add_loose_delivery(
        ctx, session, to=address, channel="email", template=template, locale=None, facts=facts
    )


def alert_message(ctx: HubContext, session: Session, delivery: Delivery) -> OutgoingMessage:
    """Returns the email an alert delivery is, drawn up now."""
    facts = delivery.facts or {}
    door = session.get(Door, str(facts.get("door_id", "")))
    site = session.get(Site, door.site_id) if door is not None else None
    timezone = site.timezone if site is not None else ctx.settings.default_timezone
    values = {
        "door": door.name if door is not None else str(facts.get("door_id", "")),
        "place": site.name if site is not None else "",
        "at": format_moment(delivery.created_at, timezone, delivery.locale or "nb"),
        "ref": str(facts.get("ref", "")),
        "error": str(facts.get("error", "")),
        "action": str(facts.get("action", "")),
    }
    rendered = render_alert(delivery.template, delivery.locale, values)
    return OutgoingMessage(
        delivery_id=delivery.id,
        channel="email",
        to=ctx.box.open(delivery.to_sealed or ""),
        subject=rendered.subject,
        body=rendered.email,
        html=rendered.html,
    )
