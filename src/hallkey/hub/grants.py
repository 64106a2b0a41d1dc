"""The grant operations of the hub API: GrantAccess, UpdateAccess, RevokeAccess.

They take the caller's session and never commit.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hallkey.core.errors import Conflict, InvalidInput, NotFound
from hallkey.core.ids import new_id
from hallkey.hub import repository as repo
from hallkey.hub.connectors.base import STORE_CREDENTIALS
from hallkey.hub.context import HubContext
from hallkey.hub.domain import (
    RuleViolation,
    Window,
    fingerprint,
    generate_pin,
    grant_request_canonical,
    make_windows,
)
from hallkey.hub.models import Client, Door, Grant, GrantDoor, Site
from hallkey.hub.schemas import GrantAccessIn, UpdateAccessIn, WindowIn
from hallkey.hub.service import (
    _add_deliveries,
    _bump,
    _enqueue_program,
    code_digest,
    get_grant,
    site_connector,
)

log = logging.getLogger(__name__)


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


def _seal(ctx: HubContext, value: str | None) -> str | None:
    return ctx.box.seal(value) if value is not None else None


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
