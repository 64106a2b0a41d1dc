"""The hub's operations. They take the caller's session and never commit."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hallkey.core.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from hallkey.core.ids import new_id
from hallkey.core.jobs import PRIORITY_REVOKE
from hallkey.core.security import keyed_digest, parse_api_key, verify_secret
from hallkey.hub import repository as repo
from hallkey.hub.connectors.base import PULSE, STORE_CREDENTIALS, DoorTarget, LockConnector
from hallkey.hub.context import HubContext
from hallkey.hub.domain import (
    RuleViolation,
    Window,
    fingerprint,
    format_code,
    generate_pin,
    grant_request_canonical,
    make_windows,
    valid_at,
)
from hallkey.hub.models import Client, Delivery, Door, Grant, GrantDoor, Site
from hallkey.hub.schemas import (
    DeliveryOut,
    DoorErrorOut,
    DoorOut,
    EventOut,
    GrantAccessIn,
    GrantDoorOut,
    GrantOut,
    PulseIn,
    ResendIn,
    UpdateAccessIn,
    WindowIn,
    WindowOut,
)

log = logging.getLogger(__name__)

PROGRAM_JOB = "program_door"
DELIVER_JOB = "deliver"
FORWARD_JOB = "forward_events"


# --- authentication ---------------------------------------------------------------------


def authenticate_client(session: Session, token: str) -> Client:
    """Returns the client presenting this API key; raises Unauthorized."""
    parsed = parse_api_key(token)
    client = repo.client_by_key_id(session, parsed[0]) if parsed else None
    if parsed is None or client is None or not verify_secret(parsed[1], client.secret_hash):
        raise Unauthorized("invalid API key")
    return client


def authenticate_site(session: Session, token: str) -> Site:
    """Returns the site whose controller presents this events key; raises Unauthorized."""
    parsed = parse_api_key(token)
    site = repo.site_by_events_key_id(session, parsed[0]) if parsed else None
    if parsed is None or site is None or not verify_secret(parsed[1], site.events_secret_hash):
        raise Unauthorized("invalid events key")
    return site


# --- helpers ----------------------------------------------------------------------------


def site_config(ctx: HubContext, site: Site) -> dict[str, str]:
    """Returns a site's connector config (stored sealed)."""
    config: dict[str, str] = json.loads(ctx.box.open(site.config_sealed))
    return config


def site_connector(ctx: HubContext, site: Site) -> LockConnector:
    """Returns the connector that reaches a site's lock system."""
    return ctx.connectors.build(site.connector, site_config(ctx, site))


def door_target(door: Door) -> DoorTarget:
    """Returns what a connector needs to know of a door."""
    return DoorTarget(id=door.id, remote_id=door.remote_id, site_id=door.site_id)


def code_digest(ctx: HubContext, code: str) -> str:
    """Returns the keyed digest by which codes are compared without being readable."""
    return keyed_digest(ctx.digest_key, code)


def _windows(
    *,
    valid_from: datetime | None,
    valid_to: datetime | None,
    windows: Sequence[WindowIn] | None,
    now: datetime | None,
) -> list[Window]:
    pairs = [(w.valid_from, w.valid_to) for w in windows] if windows else None
    try:
        return make_windows(valid_from=valid_from, valid_to=valid_to, windows=pairs, now=now)
    except RuleViolation as exc:
        raise InvalidInput(exc.message, field=exc.field) from None


def _require_future(windows: Sequence[Window], now: datetime, field: str) -> None:
    if windows[-1].valid_to <= now:
        raise InvalidInput("valid_to must be in the future", field=field)


def _client_doors(session: Session, client: Client, door_ids: Sequence[str]) -> list[Door]:
    # Row-locked (on PostgreSQL) until commit: two grants on one door choose their codes in
    # turn, so neither can miss the other's code.
    found = repo.client_doors(session, client.id, door_ids, for_update=True)
    if len(set(door_ids)) != len(found):
        # Another client's door is reported exactly like one that does not exist.
        raise NotFound("unknown door in doors", field="doors", code="unknown_door")
    return [found[door_id] for door_id in dict.fromkeys(door_ids)]


def _require_capability(
    ctx: HubContext, sites: dict[str, Site], doors: Sequence[Door], capability: str, field: str
) -> None:
    for door in doors:
        connector = site_connector(ctx, sites[door.site_id])
        if capability not in connector.capabilities:
            raise InvalidInput(
                f"a door in doors cannot {capability.replace('_', ' ')} ({door.id})",
                field=field,
                code="unsupported_by_door",
            )


def _new_code(
    ctx: HubContext,
    session: Session,
    sites: dict[str, Site],
    doors: Sequence[Door],
    windows: Sequence[Window],
    grant_id: str | None,
) -> str:
    taken = repo.taken_code_digests(session, [d.id for d in doors], windows, grant_id)
    length = max(sites[d.site_id].pin_length for d in doors)
    try:
        return generate_pin(length, lambda code: code_digest(ctx, code) in taken)
    except RuntimeError:
        raise Conflict(
            "no free code of this length is left for these doors at that time",
            field="doors",
            code="no_free_code",
        ) from None


def _bump(row: GrantDoor, action: str, now: datetime) -> None:
    row.action = action
    row.state = "pending"
    row.desired_version += 1
    row.errors = []
    row.attempts = 0
    row.updated_at = now


def _enqueue_program(ctx: HubContext, session: Session, grant_id: str, door_id: str) -> None:
    # (Both rows are mostly in the session already.) The door's site is the job's peer: when it
    # answers again the job runs at once; a revocation goes before any programming.
    door = session.get(Door, door_id)
    row = session.get(GrantDoor, (grant_id, door_id))
    ctx.jobs.enqueue(
        session,
        PROGRAM_JOB,
        {"grant_id": grant_id, "door_id": door_id},
        peer=f"site:{door.site_id}" if door is not None else None,
        priority=PRIORITY_REVOKE if row is not None and row.action == "revoke" else 0,
    )


def push_door_again(ctx: HubContext, session: Session, row: GrantDoor) -> None:
    """Sets a grant's door back to `pending` and queues its programming (or revocation)."""
    _bump(row, row.action, ctx.clock.now())
    session.flush()
    _enqueue_program(ctx, session, row.grant_id, row.door_id)


def _add_deliveries(
    ctx: HubContext, session: Session, grant: Grant, template: str, channels: Sequence[str]
) -> None:
    now = ctx.clock.now()
    for channel in dict.fromkeys(channels):
        delivery = Delivery(
            id=new_id("dlv"),
            grant_id=grant.id,
            channel=channel,
            template=template,
            state="queued",
            attempts=0,
            created_at=now,
        )
        session.add(delivery)
        session.flush()
        ctx.jobs.enqueue(session, DELIVER_JOB, {"delivery_id": delivery.id})


def _seal(ctx: HubContext, value: str | None) -> str | None:
    return ctx.box.seal(value) if value is not None else None


# --- views ------------------------------------------------------------------------------


def grant_view(ctx: HubContext, session: Session, grant: Grant) -> GrantOut:
    """Returns the grant as the API shows it."""
    code = ctx.box.open(grant.code_sealed) if grant.code_sealed else None
    return GrantOut(
        ref=grant.ref,
        state="active" if grant.state == "active" else "revoked",
        operation=grant.operation,
        credential=grant.credential,
        code=code,
        code_formatted=format_code(code) if code else None,
        valid_from=grant.valid_from_at,
        valid_to=grant.valid_to_at,
        windows=[
            WindowOut(valid_from=w.valid_from, valid_to=w.valid_to)
            for w in repo.grant_windows(session, grant.id)
        ],
        doors=[
            GrantDoorOut(
                id=row.door_id,
                state=row.state,
                errors=[DoorErrorOut(**error) for error in row.errors],
            )
            for row in repo.grant_doors(session, grant.id)
        ],
        deliveries=[
            DeliveryOut(
                id=d.id,
                channel=d.channel,
                template=d.template,
                state=d.state,
            )
            for d in repo.deliveries(session, grant.id)
        ],
    )


def get_grant(session: Session, client: Client, ref: str, *, for_update: bool = False) -> Grant:
    """Returns the client's grant by ref; raises NotFound."""
    grant = repo.grant_by_ref(session, client.id, ref, for_update=for_update)
    if grant is None:
        raise NotFound("no grant with this ref", field="ref", code="unknown_ref")
    return grant


# --- operations -------------------------------------------------------------------------


def grant_access(
    ctx: HubContext, session: Session, client: Client, request: GrantAccessIn
) -> tuple[Grant, bool]:
    """Creates a grant (or finds the identical one); returns it and whether it is new."""
    now = ctx.clock.now()
    if request.operation != "code":
        raise InvalidInput(
            f"operation {request.operation} is not supported yet",
            field="operation",
            code="unsupported",
        )
    if request.credential != "pin":
        raise InvalidInput(
            f"credential {request.credential} is not supported yet",
            field="credential",
            code="unsupported",
        )
    windows = _windows(
        valid_from=request.valid_from,
        valid_to=request.valid_to,
        windows=request.windows,
        now=None,
    )
    recipient = request.recipient
    fp = fingerprint(
        ctx.digest_key,
        grant_request_canonical(
            ref=request.ref,
            operation=request.operation,
            credential=request.credential,
            doors=request.doors,
            windows=windows,
            phone=recipient.phone,
            email=recipient.email,
            deliver_via=request.deliver_via,
            locale=request.locale,
        ),
    )
    existing = repo.grant_by_ref(session, client.id, request.ref)
    if existing is not None:
        return _same_or_conflict(existing, fp), False
    for channel, address, field in (
        ("sms", recipient.phone, "recipient.phone"),
        ("email", recipient.email, "recipient.email"),
    ):
        if channel in request.deliver_via and address is None:
            raise InvalidInput(f"deliver_via {channel} needs {field}", field=field)
    last_field = f"windows.{len(request.windows) - 1}.valid_to" if request.windows else "valid_to"
    _require_future(windows, now, last_field)
    doors = _client_doors(session, client, request.doors)
    sites = repo.sites(session, (d.site_id for d in doors))
    _require_capability(ctx, sites, doors, STORE_CREDENTIALS, "credential")
    code = _new_code(ctx, session, sites, doors, windows, None)
    grant = Grant(
        id=new_id("grt"),
        client_id=client.id,
        ref=request.ref,
        state="active",
        operation=request.operation,
        credential=request.credential,
        code_sealed=ctx.box.seal(code),
        code_digest=code_digest(ctx, code),
        valid_from_at=windows[0].valid_from,
        valid_to_at=windows[-1].valid_to,
        locale=request.locale,
        deliver_via=list(dict.fromkeys(request.deliver_via)),
        recipient_phone_sealed=_seal(ctx, recipient.phone),
        recipient_email_sealed=_seal(ctx, recipient.email),
        fingerprint=fp,
        created_at=now,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(grant)
            session.flush()
    except IntegrityError:
        # An identical call committed first: answer with its grant.
        existing = repo.grant_by_ref(session, client.id, request.ref)
        if existing is None:
            raise
        return _same_or_conflict(existing, fp), False
    repo.replace_windows(session, grant.id, windows)
    for door in doors:
        session.add(
            GrantDoor(
                grant_id=grant.id,
                door_id=door.id,
                action="program",
                state="pending",
                errors=[],
                desired_version=1,
                programmed_version=0,
                attempts=0,
                updated_at=now,
            )
        )
    session.flush()
    for door in doors:
        _enqueue_program(ctx, session, grant.id, door.id)
    _add_deliveries(ctx, session, grant, "access_granted", grant.deliver_via)
    repo.add_audit(
        session,
        client_id=client.id,
        ref=grant.ref,
        action="grant",
        door_id=None,
        outcome="ok",
        at=now,
    )
    log.info("grant %s created for ref %s on %d doors", grant.id, grant.ref, len(doors))
    return grant, True


def _same_or_conflict(existing: Grant, fp: str) -> Grant:
    if existing.fingerprint != fp:
        raise Conflict("this ref is already used by another grant", field="ref", code="ref_in_use")
    return existing


def update_access(
    ctx: HubContext, session: Session, client: Client, request: UpdateAccessIn
) -> Grant:
    """Moves, widens or re-doors a grant and reprograms what changed."""
    now = ctx.clock.now()
    grant = get_grant(session, client, request.ref, for_update=True)
    if grant.state != "active":
        raise Conflict("the grant is revoked", field="ref", code="grant_revoked")
    current = repo.grant_windows(session, grant.id)
    if request.windows and (request.valid_from is not None or request.valid_to is not None):
        raise InvalidInput("give windows or valid_from/valid_to, not both", field="windows")
    if request.windows:
        windows = _windows(valid_from=None, valid_to=None, windows=request.windows, now=None)
        _require_future(windows, now, f"windows.{len(request.windows) - 1}.valid_to")
    elif request.valid_from is not None or request.valid_to is not None:
        if len(current) > 1:
            raise InvalidInput("this grant has several windows: give windows", field="windows")
        windows = _windows(
            valid_from=request.valid_from or grant.valid_from_at,
            valid_to=request.valid_to or grant.valid_to_at,
            windows=None,
            now=None,
        )
        _require_future(windows, now, "valid_to")
    else:
        windows = current
    rows = {row.door_id: row for row in repo.grant_doors(session, grant.id)}
    held = [door_id for door_id, row in rows.items() if row.action == "program"]
    door_ids = list(request.doors) if request.doors is not None else held
    doors = _client_doors(session, client, door_ids)
    sites = repo.sites(session, (d.site_id for d in doors))
    _require_capability(ctx, sites, doors, STORE_CREDENTIALS, "doors")

    windows_changed = windows != current
    doors_changed = set(door_ids) != set(held)
    code_changed = False
    taken = repo.taken_code_digests(session, door_ids, windows, grant.id)
    if grant.code_digest in taken:
        code = _new_code(ctx, session, sites, doors, windows, grant.id)
        grant.code_sealed = ctx.box.seal(code)
        grant.code_digest = code_digest(ctx, code)
        code_changed = True
    if windows_changed:
        repo.replace_windows(session, grant.id, windows)
        grant.valid_from_at = windows[0].valid_from
        grant.valid_to_at = windows[-1].valid_to
    if request.recipient is not None:
        grant.recipient_phone_sealed = _seal(ctx, request.recipient.phone)
        grant.recipient_email_sealed = _seal(ctx, request.recipient.email)
    to_program: list[str] = []
    for door in doors:
        row = rows.get(door.id)
        if row is None:
            row = GrantDoor(
                grant_id=grant.id,
                door_id=door.id,
                action="program",
                state="pending",
                errors=[],
                desired_version=1,
                programmed_version=0,
                attempts=0,
                updated_at=now,
            )
            session.add(row)
            to_program.append(door.id)
        elif row.action != "program" or windows_changed or code_changed:
            _bump(row, "program", now)
            to_program.append(door.id)
    for door_id, row in rows.items():
        if row.action == "program" and door_id not in door_ids:
            _bump(row, "revoke", now)
            to_program.append(door_id)
    session.flush()
    for door_id in to_program:
        _enqueue_program(ctx, session, grant.id, door_id)
    if windows_changed or doors_changed or code_changed:
        _add_deliveries(ctx, session, grant, "access_changed", grant.deliver_via)
    grant.updated_at = now
    repo.add_audit(
        session,
        client_id=client.id,
        ref=grant.ref,
        action="update",
        door_id=None,
        outcome="changed" if to_program else "unchanged",
        at=now,
    )
    return grant


def revoke_access(ctx: HubContext, session: Session, client: Client, ref: str) -> Grant:
    """Revokes a grant on every door; a second call changes nothing."""
    now = ctx.clock.now()
    grant = get_grant(session, client, ref, for_update=True)
    if grant.state == "revoked":
        return grant
    grant.state = "revoked"
    grant.revoked_at = now
    grant.updated_at = now
    for row in repo.grant_doors(session, grant.id):
        if row.action == "program":
            _bump(row, "revoke", now)
            session.flush()
            _enqueue_program(ctx, session, grant.id, row.door_id)
    _add_deliveries(ctx, session, grant, "access_revoked", grant.deliver_via)
    repo.add_audit(
        session,
        client_id=client.id,
        ref=grant.ref,
        action="revoke",
        door_id=None,
        outcome="ok",
        at=now,
    )
    return grant


def resend_access(ctx: HubContext, session: Session, client: Client, request: ResendIn) -> Grant:
    """Queues the credential's message again."""
    grant = get_grant(session, client, request.ref)
    if grant.state != "active":
        raise Conflict("the grant is revoked", field="ref", code="grant_revoked")
    channels = list(request.via) if request.via else grant.deliver_via
    if not channels:
        raise InvalidInput("give via: the grant has no delivery channel", field="via")
    _add_deliveries(ctx, session, grant, "access_granted", channels)
    return grant


@dataclass(frozen=True)
class PulsePlan:
    """A checked pulse request, to be sent outside the transaction."""

    client_id: str
    ref: str
    door: DoorTarget
    connector: LockConnector
    seconds: int


def plan_pulse(ctx: HubContext, session: Session, client: Client, request: PulseIn) -> PulsePlan:
    """Checks that the grant may open the door now; returns what to send."""
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
    connector = site_connector(ctx, site)
    if PULSE not in connector.capabilities:
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
        for event, name in repo.client_events(
            session, client.id, ref=ref, door_id=door, since=since, limit=limit
        )
    ]


@dataclass(frozen=True)
class IncomingEvent:
    """A door event as a controller reports it."""

    id: str
    door: str
    ref: str | None
    kind: str
    reason: str | None
    at: datetime


def ingest_controller_events(
    ctx: HubContext, session: Session, site: Site, events: Sequence[IncomingEvent]
) -> int:
    """Stores a site's door events (idempotent by event id); returns how many it accepted."""
    now = ctx.clock.now()
    doors = repo.doors_by_remote_id(session, site.id, (e.door for e in events))
    stored = 0
    for event in events:
        door = doors.get(event.door)
        if door is None:
            # Acknowledged, so the controller stops sending it, but there is no door to show.
            log.warning("site %s sent an event for an unknown door", site.id)
            continue
        door.online = True
        door.last_seen_at = now
        if repo.insert_event_if_new(
            session,
            {
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
                "forwarded_at": None,
            },
        ):
            stored += 1
    if stored:
        peer = f"client:{site.client_id}"
        ctx.jobs.enqueue(session, FORWARD_JOB, {"client_id": site.client_id}, peer=peer)
    log.info("site %s: %d events, %d new", site.id, len(events), stored)
    return len(events)
