"""What the grant operations check and derive: windows, doors, codes, revisions, fingerprints.

They take the caller's session and never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from hallkey.core.errors import Conflict, InvalidInput, NotFound
from hallkey.hub import repository as repo
from hallkey.hub.context import HubContext
from hallkey.hub.domain import (
    RuleViolation,
    Window,
    WindowLimits,
    fingerprint,
    generate_pin,
    grant_request_canonical,
    make_windows,
)
from hallkey.hub.models import Client, Door, Grant, Site
from hallkey.hub.schemas import WindowIn
from hallkey.hub.service import code_digest, site_connector


def windows_of(
    ctx: HubContext,
    *,
    valid_from: datetime | None,
    valid_to: datetime | None,
    windows: Sequence[WindowIn] | None,
) -> list[Window]:
    """Returns a request's merged windows, bounded by the hub's limits; raises InvalidInput."""
    pairs = [(w.valid_from, w.valid_to) for w in windows] if windows else None
    limits = WindowLimits(
        max_window=timedelta(days=ctx.settings.hub_max_window_days),
        max_span=timedelta(days=ctx.settings.hub_max_grant_days),
        now=ctx.clock.now(),
    )
    try:
        return make_windows(
            valid_from=valid_from, valid_to=valid_to, windows=pairs, now=None, limits=limits
        )
    except RuleViolation as exc:
        raise InvalidInput(exc.message, field=exc.field) from None


def require_future(windows: Sequence[Window], now: datetime, field: str) -> None:
    """Refuses windows that have all ended."""
    if windows[-1].valid_to <= now:
        raise InvalidInput("valid_to must be in the future", field=field)


def client_doors(
    session: Session, client: Client, door_ids: Sequence[str]
) -> tuple[list[Door], dict[str, Site]]:
    """Returns the client's doors of `door_ids` (row-locked) and their sites by id; raises
    NotFound for any other door."""
    # Row-locked (on PostgreSQL) until commit: two grants on one door choose their codes in
    # turn, so neither can miss the other's code.
    found = repo.client_doors(session, client.id, door_ids, for_update=True)
    if len(set(door_ids)) != len(found):
        # Another client's door is reported exactly like one that does not exist.
        raise NotFound("unknown door in doors", field="doors", code="unknown_door")
    doors = [found[door_id][0] for door_id in dict.fromkeys(door_ids)]
    return doors, {site.id: site for _, site in found.values()}


def require_capability(
    ctx: HubContext, sites: dict[str, Site], doors: Sequence[Door], capability: str, field: str
) -> None:
    """Refuses doors whose connector cannot do `capability`."""
    for door in doors:
        connector = site_connector(ctx, sites[door.site_id])
        if capability not in connector.capabilities:
            raise InvalidInput(
                f"a door in doors cannot {capability.replace('_', ' ')} ({door.id})",
                field=field,
                code="unsupported_by_door",
            )


QUICK_PIN_TRIES = 8
"""Codes tried one by one before the door's taken codes are read whole."""


def new_code(
    ctx: HubContext,
    session: Session,
    sites: dict[str, Site],
    doors: Sequence[Door],
    windows: Sequence[Window],
    grant_id: str | None,
) -> str:
    """Returns a PIN no other grant holds at these doors in overlapping windows.

    A few random codes are checked one by one, each by its digest's index: on a door with
    room, the first is nearly always free, and the cost does not grow with the grants the
    door holds. Only a crowded door (every one of those taken) has its taken codes read whole.
    """
    door_ids = [d.id for d in doors]
    length = max(sites[d.site_id].pin_length for d in doors)

    def held(code: str) -> bool:
        digest = code_digest(ctx, code)
        return bool(
            repo.taken_code_digests(session, door_ids, windows, grant_id, only_digest=digest)
        )

    try:
        return generate_pin(length, held, tries=QUICK_PIN_TRIES)
    except RuntimeError:
        pass
    taken = repo.taken_code_digests(session, door_ids, windows, grant_id)
    try:
        return generate_pin(length, lambda code: code_digest(ctx, code) in taken)
    except RuntimeError:
        raise Conflict(
            "no free code of this length is left for these doors at that time",
            field="doors",
            code="no_free_code",
        ) from None


def seal(ctx: HubContext, value: str | None) -> str | None:
    """Returns the value sealed for storage (None stays None)."""
    return ctx.box.seal(value) if value is not None else None


def opened(ctx: HubContext, sealed: str | None) -> str | None:
    """Returns a sealed value opened (None stays None)."""
    return ctx.box.open(sealed) if sealed is not None else None


def check_revision(grant: Grant, revision: int | None) -> None:
    """Refuses a request older than what the grant has seen (409 `stale_revision`)."""
    if revision is not None and revision < grant.revision:
        raise Conflict(
            "a newer revision of this grant has been seen",
            field="revision",
            code="stale_revision",
        )


def note_revision(grant: Grant, revision: int | None) -> None:
    """Keeps the highest revision seen."""
    if revision is not None and revision > grant.revision:
        grant.revision = revision


def content_fingerprint(
    ctx: HubContext,
    grant: Grant,
    *,
    doors: Sequence[str],
    windows: Sequence[Window],
    phone: str | None,
    email: str | None,
) -> str:
    """Returns the fingerprint of what the grant holds now (or is about to): a GrantAccess
    with exactly this content is a repeat; with any other, a conflict."""
    return fingerprint(
        ctx.digest_key,
        grant_request_canonical(
            ref=grant.ref,
            operation=grant.operation,
            credential=grant.credential,
            doors=doors,
            windows=windows,
            phone=phone,
            email=email,
            deliver_via=grant.deliver_via,
            locale=grant.locale,
        ),
    )
