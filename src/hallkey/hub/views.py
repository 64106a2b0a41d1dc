"""How the hub API shows a grant."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from hallkey.hub import repository as repo
from hallkey.hub.context import HubContext
from hallkey.hub.credentials import Shown, credential_type
from hallkey.hub.domain import Window
from hallkey.hub.models import Delivery, Grant, GrantDoor
from hallkey.hub.schemas import DeliveryOut, DoorErrorOut, GrantDoorOut, GrantOut, WindowOut


def shown_credential(ctx: HubContext, grant: Grant) -> Shown:
    """Returns the grant's credential as its holder sees it."""
    kind = credential_type(grant.credential)
    return kind.shown(ctx, grant) if kind is not None else Shown()


@dataclass(frozen=True)
class GrantParts:
    """All of a grant's windows, door rows and deliveries, as the transaction that made the
    grant holds them: nobody else can have added to a grant not yet committed, so its view
    need not read them back."""

    windows: Sequence[Window]
    doors: Sequence[GrantDoor]
    deliveries: Sequence[Delivery]


def grant_view(
    ctx: HubContext, session: Session, grant: Grant, parts: GrantParts | None = None
) -> GrantOut:
    """Returns the grant as the API shows it (from `parts` when the caller holds them)."""
    if parts is None:
        parts = GrantParts(
            repo.grant_windows(session, grant.id),
            repo.grant_doors(session, grant.id),
            repo.deliveries(session, grant.id),
        )
    return grant_view_of(ctx, grant, parts)


def grant_view_of(ctx: HubContext, grant: Grant, parts: GrantParts) -> GrantOut:
    """Returns the grant as the API shows it, made from all its parts (no database needed:
    a new grant's answer is made after its transaction has let the write lock go)."""
    shown = shown_credential(ctx, grant)
    # In the order the queries give.
    windows = sorted(parts.windows, key=lambda w: w.valid_from)
    doors = sorted(parts.doors, key=lambda row: row.door_id)
    deliveries = sorted(parts.deliveries, key=lambda d: (d.created_at, d.id))
    return GrantOut(
        ref=grant.ref,
        state="active" if grant.state == "active" else "revoked",
        operation=grant.operation,
        credential=grant.credential,
        code=shown.code,
        code_formatted=shown.code_formatted,
        url=shown.url,
        mobile_key=shown.mobile_key,
        valid_from=grant.valid_from_at,
        valid_to=grant.valid_to_at,
        windows=[WindowOut(valid_from=w.valid_from, valid_to=w.valid_to) for w in windows],
        doors=[
            GrantDoorOut(
                id=row.door_id,
                state=row.state,
                errors=[DoorErrorOut(**error) for error in row.errors],
            )
            for row in doors
        ],
        deliveries=[
            DeliveryOut(
                id=d.id,
                channel=d.channel,
                template=d.template,
                state=d.state,
                error=d.error,
                attempts=d.attempts,
                window_at=d.window_at,
                sent_at=d.sent_at,
            )
            for d in deliveries
        ],
    )
