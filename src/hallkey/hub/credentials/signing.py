"""The Ed25519 keys that sign mobile keys: made on first use, sealed at rest, rotated on
demand, and published (JWKS) while a token they signed may still be presented."""

from __future__ import annotations

import base64
import logging
from datetime import datetime
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from hallkey.core.ids import new_id
from hallkey.hub.context import HubContext
from hallkey.hub.models import SigningKey

log = logging.getLogger(__name__)


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _new_key(ctx: HubContext, session: Session) -> SigningKey:
    private = Ed25519PrivateKey.generate()
    raw_private = private.private_bytes_raw()
    raw_public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    kid = new_id("mkk")
    key = SigningKey(
        kid=kid,
        private_sealed=ctx.box.seal(_b64url(raw_private)),
        public_jwk={
            "kty": "OKP",
            "crv": "Ed25519",
            "x": _b64url(raw_public),
            "kid": kid,
            "alg": "EdDSA",
            "use": "sig",
        },
        created_at=ctx.clock.now(),
        retired_at=None,
        published_until_at=None,
    )
    session.add(key)
    session.flush()
    log.info("signing key %s made", kid)
    return key


def current_key(ctx: HubContext, session: Session) -> SigningKey:
    """Returns the key that signs new mobile keys, making the first one if there is none."""
    key = session.scalars(
        select(SigningKey)
        .where(SigningKey.retired_at.is_(None))
        .order_by(SigningKey.created_at.desc(), SigningKey.kid.desc())
        .limit(1)
    ).first()
    return key if key is not None else _new_key(ctx, session)


def rotate(ctx: HubContext, session: Session) -> str:
    """Retires the signing keys in use and makes a new one; returns its id. The old ones stay
    published until the last token they signed has expired."""
    now = ctx.clock.now()
    for key in session.scalars(select(SigningKey).where(SigningKey.retired_at.is_(None))):
        key.retired_at = now
    return _new_key(ctx, session).kid


def published(ctx: HubContext, session: Session) -> list[dict[str, Any]]:
    """Returns the public JWKs of the keys in use and of those whose tokens may still be
    presented, newest first."""
    now = ctx.clock.now()
    keys = session.scalars(
        select(SigningKey)
        .where(or_(SigningKey.retired_at.is_(None), SigningKey.published_until_at > now))
        .order_by(SigningKey.created_at.desc(), SigningKey.kid.desc())
    ).all()
    return [dict(key.public_jwk) for key in keys]


def sign(ctx: HubContext, session: Session, claims: dict[str, Any], expires: datetime) -> str:
    """Returns `claims` signed as a JWT (EdDSA) with the current key, which then stays
    published at least until `expires`."""
    key = current_key(ctx, session)
    if key.published_until_at is None or key.published_until_at < expires:
        key.published_until_at = expires
    private = Ed25519PrivateKey.from_private_bytes(_b64url_decode(ctx.box.open(key.private_sealed)))
    return jwt.encode(claims, private, algorithm="EdDSA", headers={"kid": key.kid})
