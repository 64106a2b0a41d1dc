"""SMS access: the guest texts a door's keyword to the gateway's number from their phone; the
hub alone checks the sender and pulses the door.

The grant keeps HMAC-SHA256(hub key, E.164 phone) in an index, by which an inbound SMS finds
it; the phone itself stays sealed, and both go with the retention purge. Each door's keyword is
derived from its name (its first word, letters and digits only, upper case), so nothing about a
door needs storing.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from sqlalchemy.orm import Session

from hallkey.core.errors import InvalidInput
from hallkey.core.security import keyed_digest
from hallkey.hub.connectors.base import PULSE
from hallkey.hub.context import HubContext
from hallkey.hub.credentials.base import Shown
from hallkey.hub.domain import Window
from hallkey.hub.models import Door, Grant, Site

_WORD = re.compile(r"[A-Za-z0-9ÆØÅæøå]+")
MAX_KEYWORD = 16


def phone_digest(ctx: HubContext, phone: str) -> str:
    """Returns the keyed hash of an E.164 number by which its SMS grants are found."""
    return keyed_digest(ctx.digest_key, f"sms-phone:{phone}")


def _fold(text: str) -> str:
    # Gateways and phones differ in how they send letters like "ø": compare them unaccented.
    text = text.upper().replace("Ø", "O").replace("Æ", "AE").replace("Å", "A")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def door_keyword(name: str) -> str:
    """Returns the keyword a guest texts for a door: the first word of its name, in capitals."""
    words = _WORD.findall(name)
    return _fold(words[0])[:MAX_KEYWORD] if words else ""


def text_keyword(text: str) -> str:
    """Returns the keyword a guest's text names: its first word, folded like a door's."""
    return door_keyword(text)


class SmsCredential:
    """The guest's own phone number: a text from it opens the grant's doors while valid."""

    name = "sms"
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
        """Indexes the grant by the keyed hash of its recipient's phone."""
        if not ctx.settings.sms_number or not ctx.settings.sms_inbound_secret:
            # Without the gateway's number and secret no text can reach the hub.
            raise InvalidInput(
                "SMS access is not set up at this hub (HALLKEY_SMS_NUMBER and "
                "HALLKEY_SMS_INBOUND_SECRET)",
                field="credential",
                code="unsupported",
            )
        if grant.recipient_phone_sealed is None:
            raise InvalidInput("credential sms needs recipient.phone", field="recipient.phone")
        grant.phone_digest = phone_digest(ctx, ctx.box.open(grant.recipient_phone_sealed))

    def refresh(
        self,
        ctx: HubContext,
        session: Session,
        grant: Grant,
        sites: dict[str, Site],
        doors: Sequence[Door],
        windows: Sequence[Window],
    ) -> bool:
        """Keeps the access: the hub reads the grant's doors and windows at each text."""
        return False

    def shown(self, ctx: HubContext, grant: Grant) -> Shown:
        """Returns nothing to show: the guest holds their phone, and the message says what to
        text where."""
        return Shown()

    def door_code(self, ctx: HubContext, grant: Grant) -> str | None:
        """Returns nothing: the door only sees the hub's pulse."""
        return None
