"""What a URL key's page shows and does: find the grant by the token's digest, tell its
state, and plan a pulse of one of its doors. Nothing here reveals whether a token exists
beyond the page a holder of it would see."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy.orm import Session

from hallkey.core.errors import Forbidden, NotFound
from hallkey.hub import repository as repo
from hallkey.hub import service
from hallkey.hub.context import HubContext
from hallkey.hub.credentials.url_key import LINK_KEY_PATTERN, token_digest
from hallkey.hub.domain import Window
from hallkey.hub.models import Client, Grant
from hallkey.hub.schemas import PulseIn

KeyState = Literal["not_yet", "open", "ended", "revoked"]
_TOKEN = re.compile(LINK_KEY_PATTERN)


@dataclass(frozen=True)
class PageDoor:
    """A door the key opens."""

    id: str
    name: str


@dataclass(frozen=True)
class KeyPage:
    """What the page of a URL key shows."""

    grant_id: str
    ref: str
    state: KeyState
    place: str
    timezone: str
    doors: list[PageDoor]
    windows: list[Window]
    locale: str


def key_state(state: str, windows: list[Window], now: datetime) -> KeyState:
    """Returns whether a key is revoked, open now, not yet open, or ended for good."""
    if state != "active":
        return "revoked"
    if any(w.contains(now) for w in windows):
        return "open"
    if any(w.valid_from > now for w in windows):
        return "not_yet"
    return "ended"


def find_grant(session: Session, token: str) -> Grant:
    """Returns the URL-key grant of a token; raises NotFound (for a malformed one too)."""
    grant = repo.grant_by_key_digest(session, token_digest(token)) if _TOKEN.match(token) else None
    if grant is None or grant.credential != "url_key":
        raise NotFound("no such key", code="unknown_key")
    return grant


def page_of(ctx: HubContext, session: Session, token: str) -> KeyPage:
    """Returns what the page of a token shows; raises NotFound."""
    grant = find_grant(session, token)
    windows = repo.grant_windows(session, grant.id)
    rows = [row for row in repo.grant_doors(session, grant.id) if row.action == "program"]
    doors = repo.doors_by_id(session, (row.door_id for row in rows))
    sites = [site for _, site in doors.values()]
    return KeyPage(
        grant_id=grant.id,
        ref=grant.ref,
        state=key_state(grant.state, windows, ctx.clock.now()),
        place=sites[0].name if sites else "",
        timezone=sites[0].timezone if sites else ctx.settings.default_timezone,
        doors=[PageDoor(id=door.id, name=door.name) for door, _ in doors.values()],
        windows=windows,
        locale=grant.locale,
    )


def plan_open(ctx: HubContext, session: Session, token: str, door_id: str) -> service.PulsePlan:
    """Checks that the key may open the door now (as GrantPulseAccess does, with its rate per
    ref); returns the pulse to send. Raises NotFound, Forbidden, InvalidInput, 429."""
    grant = find_grant(session, token)
    client = session.get(Client, grant.client_id)
    if client is None:
        raise NotFound("no such key", code="unknown_key")
    if repo.grant_door(session, grant.id, door_id) is None:
        raise Forbidden("this key does not open that door", field="door")
    return service.plan_pulse(ctx, session, client, PulseIn(ref=grant.ref, door=door_id))
