"""The reader of mobile keys: decides offline, with the hub's public keys and the windows
and revocations the hub programmed, whether a presented token opens the door."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt
from sqlalchemy.orm import Session

from hallkey.core.schemas import REF_PATTERN
from hallkey.locks import domain, public_keys, repository, service
from hallkey.locks.context import LocksContext
from hallkey.locks.models import Door
from hallkey.locks.schemas import KeypadOut

log = logging.getLogger(__name__)

REQUIRED_CLAIMS = ("sub", "doors", "windows", "nbf", "exp", "iat", "jti")
_REF = re.compile(REF_PATTERN)


class InvalidKey(ValueError):
    """The token is malformed, unsigned by a key the controller holds, or forged."""


@dataclass(frozen=True)
class MobileKey:
    """The verified content of a mobile key."""

    ref: str
    doors: tuple[str, ...]
    windows: tuple[domain.Window, ...]


def _time(value: object) -> datetime:
    if not isinstance(value, str):
        raise InvalidKey("a window's time is not a string")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidKey("a window's time is not RFC 3339") from None
    if parsed.tzinfo is None:
        raise InvalidKey("a window's time has no offset")
    return parsed.astimezone(UTC)


def verify(session: Session, controller_id: str, token: str) -> MobileKey:
    """Returns the content of a token signed by one of the hub's keys; raises InvalidKey."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise InvalidKey("not a JWT") from None
    kid = header.get("kid")
    key = public_keys.find(session, controller_id, kid) if isinstance(kid, str) else None
    if key is None or header.get("alg") != "EdDSA":
        raise InvalidKey("unknown key id")
    try:
        # Times are checked below with the controller's own clock, against every window.
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=["EdDSA"],
            options={
                "require": list(REQUIRED_CLAIMS),
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
            },
        )
    except jwt.PyJWTError:
        raise InvalidKey("bad signature or claims") from None
    ref, doors, windows = claims["sub"], claims["doors"], claims["windows"]
    if not isinstance(ref, str) or not _REF.match(ref) or len(ref) > 64:
        raise InvalidKey("bad sub")
    if not isinstance(doors, list) or not all(isinstance(d, str) for d in doors):
        raise InvalidKey("bad doors")
    if not isinstance(windows, list) or not windows:
        raise InvalidKey("bad windows")
    parsed: list[domain.Window] = []
    for pair in windows:
        if not isinstance(pair, list) or len(pair) != 2:
            raise InvalidKey("bad window")
        window = domain.Window(_time(pair[0]), _time(pair[1]))
        if window.valid_to <= window.valid_from:
            raise InvalidKey("empty window")
        parsed.append(window)
    return MobileKey(ref=ref, doors=tuple(doors), windows=tuple(parsed))


def claimed_name(session: Session, door: Door) -> str | None:
    """Returns the id under which a mobile key names this door: the hub's id (told by the
    set-up, or with the hub's first programming of the door), else the door's own id — unless
    another door of this controller is known to the hub by that id (ids swapped between the
    hub and the controller), when no key names it yet.

    A property of the door, not of a ref's credential, so a controller that has not yet heard
    of a grant (the hub unreachable since) still checks its keys by signature, door and window.
    """
    if door.hub_door_id is not None:
        return door.hub_door_id
    taken = repository.door_known_to_hub_as(session, door.controller_id, door.id)
    return None if taken else door.id


def present(
    ctx: LocksContext, session: Session, controller_id: str, door_id: str, token: str
) -> KeypadOut:
    """Decides on a mobile key presented at the door's reader, unlocking it when granted."""
    door = service.door_for_update(session, controller_id, door_id)
    now = ctx.clock.now()
    if door.locked_out_until_at is not None and domain.is_locked_out(door.locked_out_until_at, now):
        # The door's reader shares the keypad's lock-out: the door is closed to everyone.
        return KeypadOut(granted=False, reason="locked_out")
    reason: domain.DenyReason | None = None
    ref: str | None = None
    try:
        key = verify(session, controller_id, token)
    except InvalidKey as exc:
        log.info("mobile key at door %s: refused (invalid_key: %s)", door.id, exc)
        service.record_event(ctx, session, door, "access_denied", at=now, reason="invalid_key")
        return KeypadOut(granted=False, reason="invalid_key")
    ref = key.ref
    held = repository.credential(session, door.id, ref)
    held_windows = (
        tuple(
            domain.Window(w.valid_from_at, w.valid_to_at)
            for w in repository.windows_of(session, [held.id])[held.id]
        )
        if held is not None
        else None
    )
    if claimed_name(session, door) not in key.doors:
        reason = "wrong_door"
    elif held is not None and held.revoked:
        reason = "revoked"
    elif held_windows is not None and held_windows != key.windows:
        # The hub has moved this grant since the token was signed (or this controller has not
        # heard of the move yet): only the token matching what the door holds opens it.
        reason = "outside_window"
    elif not any(w.valid_from <= now < w.valid_to for w in key.windows):
        reason = "outside_window"
    if reason is not None:
        service.record_event(ctx, session, door, "access_denied", at=now, ref=ref, reason=reason)
        log.info("mobile key at door %s: refused (%s)", door.id, reason)
        return KeypadOut(granted=False, ref=None, reason=reason)
    door.unlocked_until_at = domain.extend_unlock(
        door.unlocked_until_at, now, ctx.settings.locks_keypad_unlock_seconds
    )
    service.record_event(ctx, session, door, "access_granted", at=now, ref=ref)
    log.info("mobile key at door %s: granted to %s", door.id, ref)
    return KeypadOut(granted=True, ref=ref)
