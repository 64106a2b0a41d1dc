"""A client's API keys: several may be live at once, so that a key is rotated without a gap —
add the new key, move the booking system over to it, then revoke the old one."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hallkey.core.errors import Conflict, NotFound
from hallkey.hub import provisioning
from hallkey.hub.context import HubContext
from hallkey.hub.models import Client, ClientKey
from hallkey.hub.operator_schemas import ClientKeyOut, NewClientKeyOut


def _out(key: ClientKey) -> ClientKeyOut:
    return ClientKeyOut(
        id=key.id,
        name=key.name,
        key_id=key.key_id,
        created_at=key.created_at,
        revoked_at=key.revoked_at,
    )


def _client(session: Session, client_id: str, *, lock: bool = False) -> Client:
    client = session.get(Client, client_id, with_for_update=lock)
    if client is None:
        raise NotFound("unknown client", field="client_id")
    return client


def list_keys(session: Session, client_id: str) -> list[ClientKeyOut]:
    """Returns a client's keys, newest first, revoked ones included (never a secret)."""
    _client(session, client_id)
    keys = session.scalars(
        select(ClientKey)
        .where(ClientKey.client_id == client_id)
        .order_by(ClientKey.created_at.desc(), ClientKey.id)
    )
    return [_out(k) for k in keys]


def add_key(ctx: HubContext, session: Session, client_id: str, name: str) -> NewClientKeyOut:
    """Gives the client a new live key; the others keep working until revoked."""
    _client(session, client_id)
    key, plaintext = provisioning.add_client_key(
        ctx, session, client_id=client_id, name=name.strip()
    )
    return NewClientKeyOut(**_out(key).model_dump(), api_key=plaintext)


def revoke_key(ctx: HubContext, session: Session, client_id: str, key_row_id: str) -> ClientKeyOut:
    """Revokes one key at once (a repeat changes nothing). The client's last live key cannot
    be revoked: add its successor first, so that a client is never cut off by mistake."""
    # The client's row is locked: two revocations at once cannot both see a second live key.
    _client(session, client_id, lock=True)
    key = session.get(ClientKey, key_row_id, with_for_update=True)
    if key is None or key.client_id != client_id:
        raise NotFound("unknown key", field="key_id")
    if key.revoked_at is not None:
        return _out(key)
    live = session.scalar(
        select(func.count())
        .select_from(ClientKey)
        .where(ClientKey.client_id == client_id, ClientKey.revoked_at.is_(None))
    )
    if (live or 0) <= 1:
        raise Conflict(
            "this is the client's last live key: add a new key before revoking it",
            code="last_key",
        )
    key.revoked_at = ctx.clock.now()
    session.flush()
    return _out(key)
