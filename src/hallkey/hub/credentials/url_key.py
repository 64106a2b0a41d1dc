"""URL keys: a link `/k/{token}` whose page pulses the door; the hub alone checks it.

The hub stores the SHA-256 of the token, by which the page finds its grant, and a random
nonce; the token is HMAC-SHA256(hub key, grant id and nonce), so the hub can show or resend
the link without keeping it, and a copy of the database alone opens nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence

from sqlalchemy.orm import Session

from hallkey.hub.connectors.base import PULSE
from hallkey.hub.context import HubContext
from hallkey.hub.credentials.base import Shown
from hallkey.hub.domain import Window
from hallkey.hub.models import Door, Grant, Site

LINK_KEY_PATTERN = r"^[A-Za-z0-9_-]{43}$"
"""A token as it appears in a link: 256 bits in unpadded base64url."""


def token_digest(token: str) -> str:
    """Returns the digest by which a token's grant is found."""
    return hashlib.sha256(token.encode()).hexdigest()


def _token(ctx: HubContext, grant_id: str, nonce: str) -> str:
    mac = hmac.new(ctx.digest_key, f"url-key:{grant_id}:{nonce}".encode(), "sha256")
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()


def link(ctx: HubContext, token: str) -> str:
    """Returns the public link of a token."""
    return f"{ctx.settings.base_url.rstrip('/')}/k/{token}"


class UrlKeyCredential:
    """A link that opens the grant's doors from a phone while the grant is valid."""

    name = "url_key"
    door_capability = PULSE
    stored_at_door = False

    def issue(
        self,
        ctx: HubContext,
        session: Session,
        grant: Grant,
        sites: dict[str, Site],
        doors: Sequence[Door],
        windows: Sequence[Window],
    ) -> None:
        """Gives the grant a new link (128 random bits of nonce, a 256-bit token)."""
        nonce = secrets.token_hex(16)
        grant.key_nonce = nonce
        grant.key_digest = token_digest(_token(ctx, grant.id, nonce))

    def refresh(
        self,
        ctx: HubContext,
        session: Session,
        grant: Grant,
        sites: dict[str, Site],
        doors: Sequence[Door],
        windows: Sequence[Window],
    ) -> bool:
        """Keeps the link: its page reads the grant's doors and windows when it is opened."""
        return False

    def shown(self, ctx: HubContext, grant: Grant) -> Shown:
        """Returns the link."""
        if grant.key_nonce is None:
            return Shown()
        return Shown(url=link(ctx, _token(ctx, grant.id, grant.key_nonce)))

    def door_code(self, ctx: HubContext, grant: Grant) -> str | None:
        """Returns nothing: the door never sees a URL key, only the hub's pulse."""
        return None
