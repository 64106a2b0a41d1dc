"""The hub's operations. They take the caller's session and never commit."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from hallkey.core.batches import BatchAnswer, rejected_item, split_items
from hallkey.core.db import plain_insert
from hallkey.core.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    Unauthorized,
    Unavailable,
)
from hallkey.core.ids import new_id
from hallkey.core.jobs import once_id
from hallkey.core.security import keyed_digest, parse_api_key, verify_secret
from hallkey.hub import event_store, events
from hallkey.hub import repository as repo
from hallkey.hub.connectors.base import PULSE, DoorTarget, LockConnector
from hallkey.hub.context import HubContext
from hallkey.hub.domain import valid_at
from hallkey.hub.models import Client, Delivery, Door, Grant, GrantDoor, Site
from hallkey.hub.schemas import (
    ControllerEventIn,
    DoorOut,
    EventOut,
    PulseIn,
    ResendIn,
)
from hallkey.hub.throttles import ref_key

log = logging.getLogger(__name__)

PROGRAM_JOB = "program_door"
DELIVER_JOB = "deliver"
FORWARD_JOB = events.FORWARD_JOB


# --- authentication ---------------------------------------------------------------------


def authenticate_client(session: Session, token: str) -> Client:
    """Returns the client presenting this API key; raises Unauthorized."""
    parsed = parse_api_key(token, "hkh")
    found = repo.client_by_key_id(session, parsed[0]) if parsed else None
    if parsed is None or found is None or not verify_secret(parsed[1], found[1]):
        raise Unauthorized("invalid API key")
    return found[0]


def authenticate_site(session: Session, token: str) -> Site:
    """Returns the site whose controller presents this events key; raises Unauthorized."""
    parsed = parse_api_key(token, "hke")
    site = repo.site_by_events_key_id(session, parsed[0]) if parsed else None
    if parsed is None or site is None or not verify_secret(parsed[1], site.events_secret_hash):
        raise Unauthorized("invalid events key")
    return site


# --- helpers ----------------------------------------------------------------------------


def site_config(ctx: HubContext, site: Site) -> dict[str, str]:
    """Returns a site's connector config (stored sealed)."""
    config: dict[str, str] = json.loads(ctx.box.open(site.config_sealed))
    return config


class SiteMisconfigured(Unavailable):
    """A site's connector cannot be built (config unsealable or invalid, connector unknown):
    nothing reaches its doors until an operator mends the site."""

    code = "site_misconfigured"


def site_connector(ctx: HubContext, site: Site) -> LockConnector:
    """Returns the connector that reaches a site's lock system; raises SiteMisconfigured."""
    try:
        return ctx.connectors.build(site.connector, site_config(ctx, site))
    except Exception as exc:
        # The type only: the message may quote the config, which holds the site's secrets.
        log.error("site %s: connector cannot be built (%s)", site.id, type(exc).__name__)
        raise SiteMisconfigured(
            "the site of this door is misconfigured; an operator must mend it"
        ) from None


def door_target(door: Door) -> DoorTarget:
    """Returns what a connector needs to know of a door."""
    return DoorTarget(id=door.id, remote_id=door.remote_id, site_id=door.site_id)


def code_digest(ctx: HubContext, code: str) -> str:
    """Returns the keyed digest by which codes are compared without being readable."""
    return keyed_digest(ctx.digest_key, code)


def _bump(row: GrantDoor, action: str, now: datetime) -> None:
    row.action = action
    row.state = "pending"
    row.desired_version += 1
    row.errors = []
    row.attempts = 0
    row.updated_at = now


def program_payload(grant_id: str, door_ids: Sequence[str]) -> dict[str, Any]:
    """Returns the payload of a job programming `door_ids` of a grant (`hub.programming`)."""
    return {"grant_id": grant_id, "door_ids": sorted(door_ids)}


def push_door_again(
    ctx: HubContext, session: Session, grant_id: str, door_id: str, read_version: int
) -> bool:
    """Sets a grant's door back to `pending` and queues its programming (or revocation) again,
    unless its version moved on since `read_version` was read; tells whether it did."""
    # The grant's row first, then the door's, as every other version change does: a
    # revocation committed meanwhile is then seen here, never overwritten.
    if repo.lock_grant(session, grant_id) is None:
        return False
    row = repo.grant_door(session, grant_id, door_id, for_update=True)
    if row is None or row.desired_version != read_version:
        return False
    _bump(row, row.action, ctx.clock.now())
    session.flush()
    # One such job per door of a grant at a time: a door that keeps refusing must not gather
    # a new job at every reconcile round.
    ctx.jobs.enqueue_once(
        session,
        once_id(PROGRAM_JOB, f"{grant_id}/{door_id}"),
        PROGRAM_JOB,
        program_payload(grant_id, [door_id]),
        rearm=True,
    )
    return True


def _add_deliveries(
    ctx: HubContext,
    session: Session,
    grant: Grant,
    template: str,
    channels: Sequence[str],
    *,
    window_at: datetime | None = None,
) -> list[Delivery]:
    """Queues a grant's message on each channel; returns the deliveries."""
    now = ctx.clock.now()
    rows = [
        {
            "id": new_id("dlv"),
            "grant_id": grant.id,
            "channel": channel,
            "template": template,
            "state": "queued",
            "attempts": 0,
            "created_at": now,
            "window_at": window_at,
        }
        for channel in dict.fromkeys(channels)
    ]
    if rows:
        session.execute(plain_insert(Delivery), rows)  # one statement for them all
    # As written (not objects of the session: a later query of them reads them afresh).
    added = [Delivery(**row) for row in rows]
    if added:
        # One job for the channels: they share what the message is drawn up from.
        ctx.jobs.enqueue(session, DELIVER_JOB, {"delivery_ids": [d.id for d in added]})
    return added


def add_loose_delivery(
    ctx: HubContext,
    session: Session,
    *,
    to: str,
    channel: str,
    template: str,
    locale: str | None,
    facts: dict[str, Any] | None = None,
) -> None:
    """Queues a message about no grant (an answer to a text, an operator alert) to `to`,
    sealed; it is purged with the answers after the retention."""
    delivery = Delivery(
        id=new_id("dlv"),
        grant_id=None,
        channel=channel,
        template=template,
        state="queued",
        attempts=0,
        created_at=ctx.clock.now(),
        to_sealed=ctx.box.seal(to),
        locale=locale,
        facts=facts,
    )
    session.add(delivery)
    session.flush()
    ctx.jobs.enqueue(session, DELIVER_JOB, {"delivery_ids": [delivery.id]})


# --- views ------------------------------------------------------------------------------


def get_grant(session: Session, client: Client, ref: str, *, for_update: bool = False) -> Grant:
    """Returns the client's grant by ref; raises NotFound."""
    grant = repo.grant_by_ref(session, client.id, ref, for_update=for_update)
    if grant is None:
        raise NotFound("no grant with this ref", field="ref", code="unknown_ref")
    return grant


# --- operations -------------------------------------------------------------------------


def resend_access(ctx: HubContext, session: Session, client: Client, request: ResendIn) -> Grant:
    """Queues the credential's message again (at most `RESEND_RATE` times per ref)."""
    grant = get_grant(session, client, request.ref)
    if grant.state != "active":
        raise Conflict("the grant is revoked", field="ref", code="grant_revoked")
    channels = list(request.via) if request.via else grant.deliver_via
    if not channels:
        raise InvalidInput("give via: the grant has no delivery channel", field="via")
    # Counted only for a resend that will send: each one reaches a person's phone or inbox.
    ctx.throttles.resend.hit(
        ref_key(client.id, grant.ref), "this credential was resent too often; try again later"
    )
    _add_deliveries(ctx, session, grant, "access_granted", channels)
    return grant


@dataclass(frozen=True)
class PulsePlan:
    """A checked pulse request, to be sent outside the transaction."""

    client_id: str
    ref: str
    door: DoorTarget
    connector: LockConnector | None
    """None when the door's site is misconfigured: the pulse fails, and is audited so."""
    seconds: int


def plan_pulse(ctx: HubContext, session: Session, client: Client, request: PulseIn) -> PulsePlan:
    """Checks that the grant may open the door now; returns what to send."""
    ctx.throttles.pulse.hit(
        ref_key(client.id, request.ref), "too many pulses for this ref; try again later"
    )
    grant = get_grant(session, client, request.ref)
    if grant.state != "active":
        raise Forbidden("the grant is revoked", field="ref")
    row = repo.grant_door(session, grant.id, request.door)
    if row is None or row.action != "program":
        raise Forbidden("the grant does not cover this door", field="door")
    if not valid_at(repo.grant_windows(session, grant.id), ctx.clock.now()):
        raise Forbidden("the grant is not valid now", field="ref")
    door = session.get(Door, request.door)
    site = session.get(Site, door.site_id) if door else None
    if door is None or site is None:
        raise Forbidden("the grant does not cover this door", field="door")
    try:
        connector: LockConnector | None = site_connector(ctx, site)
    except SiteMisconfigured:
        connector = None
    if connector is not None and PULSE not in connector.capabilities:
        raise InvalidInput("this door cannot be pulsed", field="door", code="unsupported_by_door")
    return PulsePlan(client.id, grant.ref, door_target(door), connector, request.seconds)


def list_doors(ctx: HubContext, session: Session, client: Client) -> list[DoorOut]:
    """Returns the client's doors with their site, connector and health."""
    result: list[DoorOut] = []
    capabilities: dict[str, list[str]] = {}
    for door, site in repo.client_door_rows(session, client.id):
        if site.id not in capabilities:
            capabilities[site.id] = sorted(site_connector(ctx, site).capabilities)
        result.append(
            DoorOut(
                id=door.id,
                name=door.name,
                site=site.id,
                site_name=site.name,
                connector=site.connector,
                capabilities=capabilities[site.id],
                online=door.online,
                battery=door.battery,
                last_seen=door.last_seen_at,
            )
        )
    return result


def list_events(
    session: Session,
    client: Client,
    *,
    ref: str | None,
    door: str | None,
    since: datetime | None,
    limit: int,
) -> list[EventOut]:
    """Returns the client's door events, oldest first."""
    return [
        EventOut(
            id=event.id,
            ref=event.ref,
            door=event.door_id,
            door_name=name,
            kind=event.kind,
            reason=event.reason,
            at=event.at,
        )
        for event, name in event_store.client_events(
            session, client.id, ref=ref, door_id=door, since=since, limit=limit
        )
    ]


def ingest_controller_events(
    ctx: HubContext, session: Session, site: Site, raw_events: Sequence[Any]
) -> BatchAnswer:
    """Stores the valid events of a site's push (idempotent by the site's event id) and lists
    the others as rejected, so that one bad event never blocks the rest."""
    now = ctx.clock.now()
    valid, rejected = split_items(raw_events, ControllerEventIn)
    # Locked up front, in door id order: marking doors seen one event at a time (in the push's
    # order) would lock them in any order, and deadlock with a GrantAccess on the same doors.
    doors = event_store.doors_by_remote_id(
        session, site.id, (event.door for _, event in valid), for_update=True
    )
    accepted = stored = 0
    by_webhook = events.client_webhook(session, site.client_id)
    for index, event in valid:
        door = doors.get(event.door)
        if door is None:
            rejected.append(
                rejected_item(
                    index, {"id": event.id}, "unknown_door", "no such door at this site", "door"
                )
            )
            continue
        accepted += 1
        door.online = True
        door.last_seen_at = now
        # Event ids are the site's own: the (site, external id) unique key scopes the dedup.
        values = {
            "id": new_id("hev"),
            "site_id": site.id,
            "client_id": site.client_id,
            "external_id": event.id,
            "door_id": door.id,
            "ref": event.ref,
            "kind": event.kind,
            "reason": event.reason,
            "at": event.at,
            "received_at": now,
        }
        if events.store_event(ctx, session, values, door.name, by_webhook=by_webhook):
            stored += 1
    if stored and not by_webhook:
        events.enqueue_forwarding(ctx, session, site.client_id)
    if rejected:
        events.EVENTS_REJECTED.inc(len(rejected))
        log.warning(
            "site %s: %d events rejected (%s)",
            site.id,
            len(rejected),
            ", ".join(sorted({r.code for r in rejected})),
        )
    # An empty batch is a controller's heartbeat (every 30 s a site): not worth an INFO line.
    level = logging.INFO if raw_events else logging.DEBUG
    log.log(level, "site %s: %d events, %d new", site.id, len(raw_events), stored)
    rejected.sort(key=lambda r: r.index)
    return BatchAnswer(accepted=accepted, rejected=rejected)
