"""The grant operations of the hub API: GrantAccess, UpdateAccess, RevokeAccess.

They take the caller's session and never commit. Each first locks the grant's row (on
PostgreSQL), and only then its door rows: every change of a grant-door version, here, in the
reconciler and in the programming job, takes the locks in that order, so none is lost.
A grant's fingerprint is that of its content *now*, kept up to date by every change, so a
repeated GrantAccess is a repeat only of what the grant currently holds.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy.orm import Session

from hallkey.core.errors import Conflict, InvalidInput
from hallkey.core.ids import new_id
from hallkey.hub import repository as repo
from hallkey.hub import webhooks
from hallkey.hub.context import HubContext
from hallkey.hub.credentials.sms import phone_digest
from hallkey.hub.delivery.generations import channels_awaiting_code, supersede
from hallkey.hub.delivery.reminders import schedule_reminders
from hallkey.hub.domain import Window, fingerprint, grant_request_canonical
from hallkey.hub.grant_checks import (
    check_revision,
    client_doors,
    content_fingerprint,
    note_revision,
    opened,
    require_capability,
    require_future,
    seal,
    windows_of,
)
from hallkey.hub.grant_requests import (
    check_grant_request,
    checked_doors,
    credential_kind,
    door_needs,
    last_window_field,
)
from hallkey.hub.grant_rows import insert_new_door_rows, insert_new_grant, new_door_row
from hallkey.hub.models import Client, Door, Grant, GrantDoor, Site
from hallkey.hub.programming import enqueue_programming
from hallkey.hub.schemas import GrantAccessIn, RevokeAccessIn, UpdateAccessIn
from hallkey.hub.service import (
    _add_deliveries,
    _bump,
    get_grant,
)
from hallkey.hub.views import GrantParts

log = logging.getLogger(__name__)


class Granted(NamedTuple):
    """What a GrantAccess did: the grant, whether it was (re)created, and, for a grant made
    now, all its parts (its view need not read them back)."""

    grant: Grant
    created: bool
    parts: GrantParts | None = None


def grant_access(
    ctx: HubContext, session: Session, client: Client, request: GrantAccessIn
) -> Granted:
    """Creates a grant, finds the identical one, or grants a revoked one again for a newer
    revision."""
    now = ctx.clock.now()
    check_grant_request(request)
    windows = windows_of(
        ctx, valid_from=request.valid_from, valid_to=request.valid_to, windows=request.windows
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
    existing = repo.grant_by_ref(session, client.id, request.ref, for_update=True)
    if existing is not None:
        return Granted(*_existing(ctx, session, client, existing, request, windows, fp))
    doors, sites = checked_doors(ctx, session, client, request, windows, now)
    grant = Grant(
        id=new_id("grt"),
        client_id=client.id,
        ref=request.ref,
        state="active",
        revision=request.revision or 0,
        created_at=now,
    )
    _take_request(ctx, session, grant, request, windows, doors, sites, fp, now)
    if not insert_new_grant(session, grant):
        # A call for the same ref committed first: answer as to a repeat of it.
        existing = repo.grant_by_ref(session, client.id, request.ref, for_update=True)
        if existing is None:  # made and deleted meanwhile: nothing to answer from
            raise Conflict("the ref changed meanwhile; try again", field="ref", code="ref_in_use")
        return Granted(*_existing(ctx, session, client, existing, request, windows, fp))
    repo.add_windows(session, grant.id, windows)
    rows = insert_new_door_rows(session, grant, [door.id for door in doors], now)
    enqueue_programming(ctx, session, rows)
    deliveries = _add_deliveries(ctx, session, grant, "access_granted", grant.deliver_via)
    schedule_reminders(ctx, session, grant, windows)
    repo.add_audit(
        session,
        client_id=client.id,
        ref=grant.ref,
        action="grant",
        door_id=None,
        outcome="ok",
        at=now,
    )
    rows.sort(key=lambda row: row.door_id)
    webhooks.grant_state_changed(ctx, session, grant, client=client, rows=rows, new=True)
    log.info("grant %s created for ref %s on %d doors", grant.id, grant.ref, len(doors))
    return Granted(grant, True, GrantParts(windows, rows, deliveries))


def _take_request(
    ctx: HubContext,
    session: Session,
    grant: Grant,
    request: GrantAccessIn,
    windows: Sequence[Window],
    doors: Sequence[Door],
    sites: dict[str, Site],
    fp: str,
    now: datetime,
) -> None:
    """Gives a grant (new, or revoked and granted again) the content of a GrantAccess and, for
    a code grant, a new credential; an unlock grant holds none: its doors stand open."""
    grant.operation = request.operation
    grant.credential = request.credential
    # The recipient before the credential: an SMS grant's credential is its phone.
    grant.recipient_phone_sealed = seal(ctx, request.recipient.phone)
    grant.recipient_email_sealed = seal(ctx, request.recipient.email)
    grant.valid_from_at = windows[0].valid_from
    grant.valid_to_at = windows[-1].valid_to
    grant.locale = request.locale
    grant.deliver_via = list(dict.fromkeys(request.deliver_via))
    grant.fingerprint = fp
    grant.updated_at = now
    if request.operation == "code":
        credential_kind(request.credential).issue(ctx, session, grant, sites, doors, windows)


def _existing(
    ctx: HubContext,
    session: Session,
    client: Client,
    grant: Grant,
    request: GrantAccessIn,
    windows: Sequence[Window],
    fp: str,
) -> tuple[Grant, bool]:
    """Answers a GrantAccess for a ref that has a grant (row-locked by the caller)."""
    check_revision(grant, request.revision)
    if grant.state != "active":
        if request.revision is None or request.revision <= grant.revision:
            raise Conflict(
                "the grant is revoked; a newer revision may grant it again",
                field="ref",
                code="grant_revoked",
            )
        _grant_again(ctx, session, client, grant, request, windows, fp)
        return grant, True
    if grant.fingerprint != fp:
        raise Conflict("this ref is already used by another grant", field="ref", code="ref_in_use")
    note_revision(grant, request.revision)
    return grant, False


def _grant_again(
    ctx: HubContext,
    session: Session,
    client: Client,
    grant: Grant,
    request: GrantAccessIn,
    windows: Sequence[Window],
    fp: str,
) -> None:
    """Makes a revoked grant active again with the request's content and a new code."""
    now = ctx.clock.now()
    doors, sites = checked_doors(ctx, session, client, request, windows, now)
    grant.state = "active"
    grant.revoked_at = None
    # Only the new credential works: the old one was revoked, and may have been passed on.
    grant.code_sealed = grant.code_digest = None
    grant.key_digest = grant.key_nonce = grant.key_sealed = grant.phone_digest = None
    _take_request(ctx, session, grant, request, windows, doors, sites, fp, now)
    note_revision(grant, request.revision)
    repo.replace_windows(session, grant.id, windows)
    rows = {row.door_id: row for row in repo.grant_doors(session, grant.id)}
    to_program: list[GrantDoor] = []
    for door in doors:
        row = rows.get(door.id)
        if row is None:
            row = new_door_row(grant, door.id, now)
            session.add(row)
        else:
            # A newer version than the revocation's: the door takes this one, whatever order
            # the two reach it in. Doors left out keep their revocation.
            _bump(row, "program", now)
        to_program.append(row)
    session.flush()
    enqueue_programming(ctx, session, to_program)
    # Every message so far is about the revoked code: the guest gets the new one instead.
    supersede(repo.deliveries(session, grant.id))
    _add_deliveries(ctx, session, grant, "access_granted", grant.deliver_via)
    schedule_reminders(ctx, session, grant, windows)
    repo.add_audit(
        session,
        client_id=client.id,
        ref=grant.ref,
        action="grant",
        door_id=None,
        outcome="granted_again",
        at=now,
    )
    webhooks.grant_state_changed(ctx, session, grant)
    log.info("grant %s granted again (revision %d)", grant.id, grant.revision)


def update_access(
    ctx: HubContext, session: Session, client: Client, request: UpdateAccessIn
) -> Grant:
    """Moves, widens or re-doors a grant and reprograms what changed."""
    now = ctx.clock.now()
    grant = get_grant(session, client, request.ref, for_update=True)
    check_revision(grant, request.revision)
    if grant.state != "active":
        raise Conflict("the grant is revoked", field="ref", code="grant_revoked")
    current = repo.grant_windows(session, grant.id)
    if request.windows and (request.valid_from is not None or request.valid_to is not None):
        raise InvalidInput("give windows or valid_from/valid_to, not both", field="windows")
    if request.windows:
        windows = windows_of(ctx, valid_from=None, valid_to=None, windows=request.windows)
        require_future(windows, now, last_window_field(request))
    elif request.valid_from is not None or request.valid_to is not None:
        if len(current) > 1:
            raise InvalidInput("this grant has several windows: give windows", field="windows")
        windows = windows_of(
            ctx,
            valid_from=request.valid_from or grant.valid_from_at,
            valid_to=request.valid_to or grant.valid_to_at,
            windows=None,
        )
        require_future(windows, now, "valid_to")
    else:
        windows = current
    rows = {row.door_id: row for row in repo.grant_doors(session, grant.id)}
    held = [door_id for door_id, row in rows.items() if row.action == "program"]
    door_ids = list(request.doors) if request.doors is not None else held
    doors, sites = client_doors(session, client, door_ids)
    kind = credential_kind(grant.credential)
    require_capability(ctx, sites, doors, door_needs(grant.operation, kind)[0], "doors")

    windows_changed = windows != current
    doors_changed = set(door_ids) != set(held)
    code_changed = grant.operation == "code" and kind.refresh(
        ctx, session, grant, sites, doors, windows
    )
    if windows_changed:
        repo.replace_windows(session, grant.id, windows)
        grant.valid_from_at = windows[0].valid_from
        grant.valid_to_at = windows[-1].valid_to
        schedule_reminders(ctx, session, grant, windows)
    if request.recipient is not None:
        if grant.credential == "sms" and grant.operation == "code":
            if request.recipient.phone is None:
                raise InvalidInput("credential sms needs recipient.phone", field="recipient.phone")
            grant.phone_digest = phone_digest(ctx, request.recipient.phone)
        grant.recipient_phone_sealed = seal(ctx, request.recipient.phone)
        grant.recipient_email_sealed = seal(ctx, request.recipient.email)
    # The grant's content is now this: a GrantAccess repeating an older content must conflict.
    grant.fingerprint = content_fingerprint(
        ctx,
        grant,
        doors=door_ids,
        windows=windows,
        phone=opened(ctx, grant.recipient_phone_sealed),
        email=opened(ctx, grant.recipient_email_sealed),
    )
    note_revision(grant, request.revision)
    to_program: list[GrantDoor] = []
    for door in doors:
        row = rows.get(door.id)
        if row is None:
            row = new_door_row(grant, door.id, now)
            session.add(row)
            to_program.append(row)
        elif row.action != "program" or windows_changed or code_changed:
            _bump(row, "program", now)
            to_program.append(row)
    for door_id, row in rows.items():
        if row.action == "program" and door_id not in door_ids:
            _bump(row, "revoke", now)
            to_program.append(row)
    session.flush()
    enqueue_programming(ctx, session, to_program)
    if windows_changed or doors_changed or code_changed:
        # A code message still queued tells the new state when it goes out: one is enough.
        waiting = channels_awaiting_code(repo.deliveries(session, grant.id))
        channels = [channel for channel in grant.deliver_via if channel not in waiting]
        _add_deliveries(ctx, session, grant, "access_changed", channels)
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
    if to_program:
        webhooks.grant_state_changed(ctx, session, grant)
    return grant


def revoke_access(
    ctx: HubContext, session: Session, client: Client, request: RevokeAccessIn
) -> Grant:
    """Revokes a grant on every door; a second call changes nothing."""
    now = ctx.clock.now()
    grant = get_grant(session, client, request.ref, for_update=True)
    check_revision(grant, request.revision)
    note_revision(grant, request.revision)
    if grant.state == "revoked":
        return grant
    grant.state = "revoked"
    grant.revoked_at = now
    grant.updated_at = now
    to_revoke = [row for row in repo.grant_doors(session, grant.id) if row.action == "program"]
    for row in to_revoke:
        _bump(row, "revoke", now)
    session.flush()
    enqueue_programming(ctx, session, to_revoke)
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
    webhooks.grant_state_changed(ctx, session, grant)
    return grant
