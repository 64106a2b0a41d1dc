"""Operator keys: the identity that sets a context up (tenants, clients, sites, controllers).

Each context keeps its own table and prefix (`hkbo`, `hkho`, `hklo`), so an operator key of
one context is never accepted by another, and never as a booking token or a client key.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, MetaData, String, Table, delete, select
from sqlalchemy.orm import Session

from hallkey.core.db import UTCDateTime
from hallkey.core.errors import Unauthorized
from hallkey.core.ids import new_id
from hallkey.core.security import issue_api_key, parse_api_key, verify_secret


def operator_key_table(metadata: MetaData, name: str) -> Table:
    """Returns the operator keys table of a context (e.g. `hub_operator_keys`)."""
    return Table(
        name,
        metadata,
        Column("id", String(40), primary_key=True),
        Column("name", String(200), nullable=False),
        # Looked up on every operator request.
        Column("key_id", String(32), nullable=False, unique=True),
        Column("secret_hash", String(64), nullable=False),
        Column("created_at", UTCDateTime(), nullable=False),
    )


def issue_operator_key(
    session: Session, table: Table, prefix: str, *, name: str, now: datetime
) -> tuple[str, str]:
    """Stores a new operator key; returns (its id, the key in plaintext, shown only now)."""
    issued = issue_api_key(prefix)
    key_row_id = new_id("opk")
    session.execute(
        table.insert().values(
            id=key_row_id,
            name=name.strip() or "operator",
            key_id=issued.key_id,
            secret_hash=issued.secret_hash,
            created_at=now,
        )
    )
    return key_row_id, issued.plaintext


def revoke_operator_key(session: Session, table: Table, key_row_id: str) -> None:
    """Deletes an operator key: it stops working at once."""
    session.execute(delete(table).where(table.c.id == key_row_id))


def authenticate_operator(session: Session, table: Table, prefix: str, token: str) -> str:
    """Returns the id of the operator key presented; raises Unauthorized otherwise."""
    parsed = parse_api_key(token, prefix)
    if parsed is None:
        raise Unauthorized("invalid operator key")
    row = session.execute(
        select(table.c.id, table.c.secret_hash).where(table.c.key_id == parsed[0])
    ).first()
    if row is None or not verify_secret(parsed[1], row.secret_hash):
        raise Unauthorized("invalid operator key")
    return str(row.id)
