"""Programming and revoking a ref's credential: on one door, or on several in one request.

The single-door routes and the batch routes both apply each door through `_put_on_door` and
`_revoke_on_door`, so the two can never disagree. The functions take the caller's session and
never commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, TypeVar, cast, get_args

from sqlalchemy.orm import Session

from hallkey.core.errors import AppError, Conflict, InvalidInput
from hallkey.locks import domain, places, public_keys, repository, service
from hallkey.locks.models import Credential, Door
from hallkey.locks.schemas import (
    CredentialFields,
    CredentialOut,
    CredentialPut,
    CredentialRevoked,
    CredentialsOut,
    CredentialsPut,
    CredentialsRevoke,
    CredentialsRevoked,
    DoorError,
    DoorProgrammed,
    DoorRefused,
    DoorRevoked,
    RefusalCode,
    WindowBody,
)

if TYPE_CHECKING:
    from hallkey.locks.context import LocksContext

log = logging.getLogger(__name__)

_REFUSALS: frozenset[str] = frozenset(get_args(RefusalCode))
"""The errors by which one door of a batch refuses while the others go on."""

_T = TypeVar("_T")


def checked_windows(body: CredentialFields) -> list[domain.Window]:
    """Returns the body's windows after the checks that do not depend on the door (code,
    type against code and keys, windows); raises InvalidInput naming the field."""
    if body.type == "pin" and (body.code is None or not domain.is_valid_code(body.code)):
        raise InvalidInput("code must be 4 to 8 digits", field="code")
    if body.type == "mobile_key" and (body.code is not None or not body.keys):
        field = "code" if body.code is not None else "keys"
        raise InvalidInput("a mobile key takes the hub's keys and no code", field=field)
    if body.type == "unlock" and (body.code is not None or body.keys):
        field = "code" if body.code is not None else "keys"
        raise InvalidInput("an unlock schedule has no code and no keys", field=field)
    windows = [domain.Window(w.valid_from, w.valid_to) for w in body.windows]
    problem = domain.windows_problem(windows)
    if problem is not None:
        raise InvalidInput(problem, field="windows")
    return windows


def put_credential(
    ctx: LocksContext,
    session: Session,
    controller_id: str,
    door_id: str,
    ref: str,
    body: CredentialPut,
) -> CredentialOut:
    """Programs (or reprograms, un-revoking) the PIN, mobile key or unlock schedule of `ref`
    on the door; returns it."""
    door = service.door_for_update(session, controller_id, door_id)
    windows = checked_windows(body)
    rows = _read_rows(ctx, session, controller_id, [door.id], ref, body.code)
    return _put_on_door(ctx, session, door, ref, body, windows, rows, hub_door=body.hub_door)


def put_credentials(
    ctx: LocksContext, session: Session, controller_id: str, ref: str, body: CredentialsPut
) -> CredentialsOut:
    """Programs `ref` on each door of the body as `put_credential` would; a door that refuses
    (each in its own savepoint) keeps what it held while the others are programmed."""
    windows = checked_windows(body)
    doors = repository.doors_for_update(session, controller_id, [d.id for d in body.doors])
    rows = _read_rows(ctx, session, controller_id, list(doors), ref, body.code)
    outcomes: list[DoorProgrammed | DoorRefused] = []
    for item in body.doors:
        put = partial(
            _put_on_door,
            ctx,
            session,
            ref=ref,
            body=body,
            windows=windows,
            rows=rows,
            hub_door=item.hub_door,
        )
        held = _in_savepoint(session, doors.get(item.id), put)
        if isinstance(held, DoorError):
            outcomes.append(DoorRefused(door=item.id, error=held))
        else:
            outcomes.append(DoorProgrammed(door=item.id, credential=held))
    return CredentialsOut(ref=ref, doors=outcomes)


def revoke_credential(
    ctx: LocksContext,
    session: Session,
    controller_id: str,
    door_id: str,
    ref: str,
    *,
    version: int = 0,
) -> CredentialRevoked:
    """Revokes the credential of `ref` on the door, recording the ref as revoked if unknown
    (so that a PUT of an older version arriving later is ignored)."""
    door = service.door_for_update(session, controller_id, door_id)
    return _revoke_on_door(ctx, session, door, ref, version)


def revoke_credentials(
    ctx: LocksContext, session: Session, controller_id: str, ref: str, body: CredentialsRevoke
) -> CredentialsRevoked:
    """Revokes `ref` on each door of the body as `revoke_credential` would."""
    doors = repository.doors_for_update(session, controller_id, body.doors)
    revoke = partial(_revoke_on_door, ctx, session, ref=ref, version=body.version)
    outcomes: list[DoorRevoked | DoorRefused] = []
    for door_id in body.doors:
        revoked = _in_savepoint(session, doors.get(door_id), revoke)
        if isinstance(revoked, DoorError):
            outcomes.append(DoorRefused(door=door_id, error=revoked))
        else:
            outcomes.append(DoorRevoked(door=door_id, revoked=revoked))
    return CredentialsRevoked(ref=ref, doors=outcomes)


def _in_savepoint(
    session: Session, door: Door | None, change: Callable[[Door], _T]
) -> _T | DoorError:
    """Applies one door's change in a savepoint; returns its result, or why the door refused
    (with nothing of the change kept). An error that is no door's refusal fails the request."""
    try:
        if door is None:
            raise service.unknown_door()
        with session.begin_nested():
            return change(door)
    except AppError as exc:
        if exc.code not in _REFUSALS:
            raise
        return DoorError(code=cast(RefusalCode, exc.code), message=exc.message)


@dataclass(frozen=True)
class _HeldRows:
    """What a PUT reads of its doors before it programs them, one statement for all of a
    batch's doors: each door's credential of the ref, and the credentials that hold the
    body's code (a door's programming changes only its own rows)."""

    digest: str | None
    """The body's code under the controller's PIN secret (None: no code)."""
    of_ref: dict[str, Credential]
    same_code: dict[str, list[Credential]]


def _read_rows(
    ctx: LocksContext,
    session: Session,
    controller_id: str,
    door_ids: list[str],
    ref: str,
    code: str | None,
) -> _HeldRows:
    digest = service.code_digest(ctx, session, controller_id, code) if code is not None else None
    return _HeldRows(
        digest=digest,
        of_ref=repository.credentials_of_ref(session, door_ids, ref),
        same_code=(
            repository.credentials_by_digest_on(session, door_ids, digest) if digest else {}
        ),
    )


def _put_on_door(
    ctx: LocksContext,
    session: Session,
    door: Door,
    ref: str,
    body: CredentialFields,
    windows: list[domain.Window],
    rows: _HeldRows,
    *,
    hub_door: str | None,
) -> CredentialOut:
    """Programs `ref` on the row-locked door, the body already checked; raises Conflict
    (`code_rejected`, `no_space_on_door`) with the door unchanged."""
    now = ctx.clock.now()
    if hub_door is not None and door.hub_door_id != hub_door:
        # Even a stale write names the door truly: the mapping is the door's, not the ref's.
        log.info("door %s is %s at the hub", door.id, hub_door)
        door.hub_door_id = hub_door
    credential = rows.of_ref.get(door.id)
    if credential is not None and domain.is_stale_write(
        body.version, held_version=credential.version, held_revoked=credential.revoked
    ):
        log.info("credential %s on door %s: stale write (v%d) ignored", ref, door.id, body.version)
        return _credential_out(session, credential)
    if body.keys:
        public_keys.store(session, door.controller_id, body.keys, now)
    digest = rows.digest
    clashing = [c for c in rows.same_code.get(door.id, []) if c.ref != ref and not c.revoked]
    if clashing:
        existing = repository.windows_of(session, [c.id for c in clashing])
        if any(
            domain.any_overlap(service.domain_windows(existing[c.id]), windows) for c in clashing
        ):
            log.info("credential %s on door %s refused: code clash", ref, door.id)
            raise Conflict(
                "the code is held by another credential of this door at an overlapping time",
                field="code",
                code="code_rejected",
            )
    held = places.holds_place(session, credential, now)
    if not places.has_room(session, door, ref, held=held, now=now):
        log.info("credential %s on door %s refused: door full", ref, door.id)
        raise Conflict("the door holds its maximum of credentials", code="no_space_on_door")

    places.taken(door, held=held)
    created = credential is None
    if credential is None:
        credential = Credential(
            id=repository.new_credential_id(), door_id=door.id, ref=ref, type=body.type
        )
        session.add(credential)
    credential.type = body.type
    credential.code_digest = digest
    credential.revoked = False
    credential.version = body.version
    credential.updated_at = now
    session.flush()
    repository.replace_windows(
        session, credential.id, [(w.valid_from, w.valid_to) for w in windows], new=created
    )
    if credential.type == "unlock":
        service.queue_schedule(ctx, session)
    log.info("%s %s programmed on door %s (%d windows)", body.type, ref, door.id, len(windows))
    return CredentialOut(
        door=door.id,
        ref=ref,
        type=credential.type,
        windows=[WindowBody(valid_from=w.valid_from, valid_to=w.valid_to) for w in windows],
        revoked=False,
        version=credential.version,
    )


def _credential_out(session: Session, credential: Credential) -> CredentialOut:
    windows = repository.windows_of(session, [credential.id])[credential.id]
    return CredentialOut(
        door=credential.door_id,
        ref=credential.ref,
        type=credential.type,
        windows=service.window_bodies(windows),
        revoked=credential.revoked,
        version=credential.version,
    )


def _revoke_on_door(
    ctx: LocksContext, session: Session, door: Door, ref: str, version: int
) -> CredentialRevoked:
    """Revokes `ref` on the row-locked door (see `revoke_credential`)."""
    credential = repository.credential(session, door.id, ref)
    now = ctx.clock.now()
    if credential is not None and version < credential.version:
        log.info("credential %s on door %s: stale revoke (v%d) ignored", ref, door.id, version)
        return CredentialRevoked(door=door.id, ref=ref, revoked=credential.revoked)
    if credential is None:
        session.add(
            Credential(
                id=repository.new_credential_id(),
                door_id=door.id,
                ref=ref,
                type="pin",
                code_digest=None,
                revoked=True,
                version=version,
                updated_at=now,
            )
        )
    else:
        places.freed(door, held=places.holds_place(session, credential, now))
        credential.revoked = True
        credential.version = version
        credential.updated_at = now
        if credential.type == "unlock":
            service.queue_schedule(ctx, session)  # a door standing open for it locks now
    session.flush()
    log.info("credential %s revoked on door %s", ref, door.id)
    return CredentialRevoked(door=door.id, ref=ref, revoked=True)
