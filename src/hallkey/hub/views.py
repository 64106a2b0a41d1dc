"""How the hub API shows a grant."""

from __future__ import annotations

from sqlalchemy.orm import Session

from hallkey.hub import repository as repo
from hallkey.hub.context import HubContext
from hallkey.hub.credentials import Shown, credential_type
from hallkey.hub.models import Grant
from hallkey.hub.schemas import DeliveryOut, DoorErrorOut, GrantDoorOut, GrantOut, WindowOut


def shown_credential(ctx: HubContext, grant: Grant) -> Shown:
    """Returns the grant's credential as its holder sees it."""
    kind = credential_type(grant.credential)
    return kind.shown(ctx, grant) if kind is not None else Shown()


def grant_view(ctx: HubContext, session: Session, grant: Grant) -> GrantOut:
    """Returns the grant as the API shows it."""
    shown = shown_credential(ctx, grant)
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
                error=d.error,
                attempts=d.attempts,
                window_at=d.window_at,
                sent_at=d.sent_at,
            )
            for d in repo.deliveries(session, grant.id)
        ],
    )
