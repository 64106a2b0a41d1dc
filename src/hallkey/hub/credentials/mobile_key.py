"""Mobile keys: a signed JWT that the door's reader verifies offline with the hub's public
keys; the door also holds the ref's windows and revocation, pushed like a PIN's."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import jwt
from sqlalchemy.orm import Session

from hallkey.core.ids import new_id
from hallkey.hub.connectors.base import STORE_CREDENTIALS
from hallkey.hub.context import HubContext
from hallkey.hub.credentials import signing
from hallkey.hub.credentials.base import Shown
from hallkey.hub.domain import Window
from hallkey.hub.models import Door, Grant, Site


def _utc_text(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def mobile_key_claims(
    ctx: HubContext, ref: str, doors: Sequence[str], windows: Sequence[Window]
) -> dict[str, Any]:
    """Returns the claims of a mobile key (DESIGN.md): the ref, door ids and windows only."""
    return {
        "iss": ctx.settings.base_url.rstrip("/"),
        "sub": ref,
        "doors": list(doors),
        "windows": [[_utc_text(w.valid_from), _utc_text(w.valid_to)] for w in windows],
        "nbf": math.floor(windows[0].valid_from.timestamp()),
        "exp": math.ceil(windows[-1].valid_to.timestamp()),
        "iat": math.floor(ctx.clock.now().timestamp()),
        "jti": new_id("mk"),
    }


class MobileKeyCredential:
    """A JWT naming the ref, its doors and windows, signed with the hub's Ed25519 key."""

    name = "mobile_key"
    # The controller keeps the ref's windows and revocation: a revoked key stops at once.
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
        """Signs a new token for the grant's doors and windows."""
        claims = mobile_key_claims(ctx, grant.ref, [d.id for d in doors], windows)
        token = signing.sign(ctx, session, claims, windows[-1].valid_to)
        grant.key_sealed = ctx.box.seal(token)

    def refresh(
        self,
        ctx: HubContext,
        session: Session,
        grant: Grant,
        sites: dict[str, Site],
        doors: Sequence[Door],
        windows: Sequence[Window],
    ) -> bool:
        """Signs a new token when the doors or windows changed (the old one names the old)."""
        if grant.key_sealed is not None:
            old = jwt.decode(ctx.box.open(grant.key_sealed), options={"verify_signature": False})
            wanted = mobile_key_claims(ctx, grant.ref, [d.id for d in doors], windows)
            if old.get("doors") == wanted["doors"] and old.get("windows") == wanted["windows"]:
                return False
        self.issue(ctx, session, grant, sites, doors, windows)
        return True

    def shown(self, ctx: HubContext, grant: Grant) -> Shown:
        """Returns the token (what the QR code holds)."""
        return Shown(mobile_key=ctx.box.open(grant.key_sealed) if grant.key_sealed else None)

    def door_code(self, ctx: HubContext, grant: Grant) -> str | None:
        """Returns nothing: the door checks the token's signature, not a stored secret."""
        return None
