"""The hub's webhook into the booking system: door events and grant states, signed as the
Standard Webhooks specification says, verified with the tenant's secret.

The signature is made by `standardwebhooks` and compared in constant time; the timestamp is
checked against the context's Clock (the library's own `verify` reads the wall clock, which
tests and simulations move). Verification reads only: just a message that holds reaches the
write lock, and an address past its budget of failed messages gets 429 for more. A message is
taken once per `webhook-id`; a door event is stored exactly as `POST /access-events` stores
it; a grant state makes a hub-side revocation or a failed door visible at once, and asks the
hub again when the booking thinks it should be granted.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from standardwebhooks import Webhook

from hallkey.booking import events, series_store, service
from hallkey.booking import repository as repo
from hallkey.booking.models import Reservation, Tenant
from hallkey.booking.series_models import Series
from hallkey.core.errors import InvalidInput, Unauthorized

if TYPE_CHECKING:
    from hallkey.booking.context import BookingContext

log = logging.getLogger(__name__)

TOLERANCE = timedelta(minutes=5)
"""How far a message's timestamp may be from now (the specification's replay window)."""

RECEIPT_KEEP = timedelta(days=7)
"""How long a message's id is remembered: well past the hub's last retry (about seven hours
after the first try). A dead letter the hub's operator sends again after that is harmless:
a door event is stored once by its id, a grant state older than the reservation changes
nothing, and a repeated revocation only makes the booking ask the hub again (its sync is
state-based)."""

DOOR_FAILED = "door_failed"
"""The reservation's `access_error` while a door of its grant failed at the hub."""


def verify(secret: str, body: bytes, headers: Mapping[str, str], now: datetime) -> Any:
    """Returns the parsed body of a message signed with `secret`; raises Unauthorized when a
    header is missing, the timestamp is stale or no signature matches."""
    msg_id = headers.get("webhook-id")
    stamp = headers.get("webhook-timestamp")
    signatures = headers.get("webhook-signature")
    if not (msg_id and stamp and signatures):
        raise Unauthorized("missing webhook headers", code="bad_signature")
    try:
        at = datetime.fromtimestamp(int(stamp), UTC)
        text = body.decode("utf-8")
    except (ValueError, OverflowError, OSError):
        raise Unauthorized("bad webhook timestamp or body", code="bad_signature") from None
    if abs(now - at) > TOLERANCE:
        raise Unauthorized("stale webhook timestamp", code="stale_timestamp")
    expected = Webhook(secret).sign(msg_id, at, text)
    # Every listed signature is compared (a secret being rotated may sign twice).
    matched = False
    for signature in signatures.split(" "):
        matched |= hmac.compare_digest(expected.encode(), signature.encode())
    if not matched:
        raise Unauthorized("no matching webhook signature", code="bad_signature")
    try:
        return json.loads(text)
    except ValueError:
        raise InvalidInput("the body is not JSON", field="body") from None


@dataclass(frozen=True)
class Verified:
    """A message whose signature held: the tenant it is for, its id and its parsed body."""

    tenant_id: str
    webhook_id: str
    message: Any


def verified(
    ctx: BookingContext,
    session: Session,
    slug: str,
    body: bytes,
    headers: Mapping[str, str],
) -> Verified:
    """Returns the message for the tenant `slug` when its signature holds; raises
    Unauthorized otherwise. Reads only: a stranger's forged messages never reach the write
    lock that bookings take."""
    tenant = session.scalars(select(Tenant).where(Tenant.slug == slug)).first()
    if tenant is None or tenant.hub_webhook_secret_sealed is None:
        # One answer for both: an unknown tenant and one without a webhook look alike.
        raise Unauthorized("no hub webhook for this tenant", code="bad_signature")
    message = verify(ctx.box.open(tenant.hub_webhook_secret_sealed), body, headers, ctx.clock.now())
    return Verified(tenant.id, str(headers["webhook-id"])[:64], message)


def take(ctx: BookingContext, session: Session, verified: Verified) -> str:
    """Takes a verified message once; returns what became of it (`taken`, `duplicate`,
    `ignored`). Raises InvalidInput, before anything is stored, for a bad door event."""
    tenant_id, message = verified.tenant_id, verified.message
    now = ctx.clock.now()
    if not repo.insert_receipt_if_new(session, tenant_id, verified.webhook_id, now):
        return "duplicate"
    if ctx.receipt_purge.due(now):
        # No recurring job: receipts only pile up while messages come in.
        purged = repo.delete_receipts_before(session, now - RECEIPT_KEEP)
        if purged:
            log.info("%d hub webhook receipts past %s deleted", purged, RECEIPT_KEEP)
    kind = message.get("type") if isinstance(message, dict) else None
    data = message.get("data") if isinstance(message, dict) else None
    if kind == "door.event":
        answer = events.record_access_events(ctx, session, tenant_id, [data])
        if answer.rejected:
            first = answer.rejected[0]
            raise InvalidInput(first.message, field=f"data.{first.field or ''}".rstrip("."))
        return "taken"
    if kind == "grant.state" and isinstance(data, dict):
        grant_state(ctx, session, tenant_id, data)
        return "taken"
    # A type this version does not know is acknowledged, so the hub does not retry it.
    log.info("hub webhook for tenant %s: type not handled", tenant_id)
    return "ignored"


def _holder_of(session: Session, tenant_id: str, ref: str) -> Reservation | Series | None:
    """Returns, row-locked, the reservation or the series whose grant has this ref."""
    found = repo.reservation_by_ref(session, tenant_id, ref, lock=True)
    if found is not None:
        return found
    return series_store.series_by_ref(session, tenant_id, ref, lock=True)


def grant_state(
    ctx: BookingContext, session: Session, tenant_id: str, data: dict[str, Any]
) -> None:
    """Shows the hub's grant state on its reservation: a revocation the booking did not ask for
    (or a failed door) at once; a revoked grant of a confirmed reservation is asked again."""
    ref, state, revision = data.get("ref"), data.get("state"), data.get("revision")
    doors = data.get("doors")
    if not isinstance(ref, str) or state not in ("active", "revoked") or type(revision) is not int:
        raise InvalidInput("a grant state needs ref, state and revision", field="data")
    reservation = _holder_of(session, tenant_id, ref)
    if reservation is None or revision < reservation.version:
        return  # unknown, or older than a change of the reservation the hub has yet to hear of
    if state == "revoked":
        if reservation.access_state in ("revoked", "failed"):
            return  # it shows no key already
        log.info("reservation %s: its grant was revoked at the hub", reservation.id)
        reservation.access_state = "revoked"
        reservation.access_secret_sealed = None  # never show a key that no longer works
        reservation.access_error = None
        if reservation.status != "confirmed":
            return
        if isinstance(reservation, Series):
            series_store.enqueue_sync(ctx, session, reservation.id)
        else:
            service.enqueue_sync(ctx, session, reservation)
        return
    failed = isinstance(doors, list) and any(
        isinstance(door, dict) and door.get("state") == "failed" for door in doors
    )
    if reservation.access_state != "granted":
        return  # the booking's own sync settles pending and failed
    if failed:
        reservation.access_error = DOOR_FAILED
    elif reservation.access_error == DOOR_FAILED:
        reservation.access_error = None
