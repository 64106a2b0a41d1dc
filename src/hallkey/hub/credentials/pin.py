"""PIN codes: typed at the door's keypad, which holds only a keyed hash of them."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from hallkey.hub import repository as repo
from hallkey.hub.connectors.base import STORE_CREDENTIALS
from hallkey.hub.context import HubContext
from hallkey.hub.credentials.base import Shown
from hallkey.hub.domain import Window, format_code
from hallkey.hub.grant_checks import new_code
from hallkey.hub.models import Door, Grant, Site
from hallkey.hub.service import code_digest


class PinCredential:
    """A numeric code, never trivial, never clashing with another at a shared door and time."""

    name = "pin"
    door_capability = STORE_CREDENTIALS
    stored_at_door = True

    def issue(
        self,
        ctx: HubContext,
        session: Session,
        grant: Grant,
        sites: dict[str, Site],
        doors: Sequence[Door],
        windows: Sequence[Window],
    ) -> None:
        """Gives the grant a new code that no other grant holds at its doors and times."""
        code = new_code(ctx, session, sites, doors, windows, grant.id)
        grant.code_sealed = ctx.box.seal(code)
        grant.code_digest = code_digest(ctx, code)

    def refresh(
        self,
        ctx: HubContext,
        session: Session,
        grant: Grant,
        sites: dict[str, Site],
        doors: Sequence[Door],
        windows: Sequence[Window],
    ) -> bool:
        """Keeps the code unless another grant holds it at the new doors and times."""
        if grant.code_digest is None or not repo.taken_code_digests(
            session, [d.id for d in doors], windows, grant.id, only_digest=grant.code_digest
        ):
            return False
        self.issue(ctx, session, grant, sites, doors, windows)
        return True

    def shown(self, ctx: HubContext, grant: Grant) -> Shown:
        """Returns the code and the code as typed on the keypad."""
        code = ctx.box.open(grant.code_sealed) if grant.code_sealed else None
        return Shown(code=code, code_formatted=format_code(code) if code else None)

    def door_code(self, ctx: HubContext, grant: Grant) -> str | None:
        """Returns the code the keypad checks."""
        return ctx.box.open(grant.code_sealed) if grant.code_sealed else None
