"""The hub's public keys as a controller keeps them, to verify mobile keys offline."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.orm import Session

from hallkey.locks.models import PublicKey
from hallkey.locks.schemas import PublicKeyBody


def store(
    session: Session, controller_id: str, keys: Sequence[PublicKeyBody], now: datetime
) -> None:
    """Adds the hub's keys the controller does not hold yet. None is dropped: the hub sends
    only keys still in use, and a token of a key it has dropped has expired anyway."""
    for key in keys:
        held = session.get(PublicKey, (controller_id, key.kid))
        if held is None:
            session.add(
                PublicKey(controller_id=controller_id, kid=key.kid, x=key.x, received_at=now)
            )
        elif held.x != key.x:
            # A key id names one key for good; a different key under it is not trusted.
            continue
    session.flush()


def find(session: Session, controller_id: str, kid: str) -> Ed25519PublicKey | None:
    """Returns the hub's public key of that id, if the controller holds it."""
    held = session.get(PublicKey, (controller_id, kid)) if 0 < len(kid) <= 40 else None
    if held is None:
        return None
    raw = base64.urlsafe_b64decode(held.x + "=" * (-len(held.x) % 4))
    return Ed25519PublicKey.from_public_bytes(raw)
