"""Several API keys per client (rotate, revoke): each client's one key becomes its first.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hallkey.core.db import UTCDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "hub_client_keys",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("client_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"], ["hub_clients.id"], name=op.f("fk_hub_client_keys_client_id_hub_clients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hub_client_keys")),
        sa.UniqueConstraint("key_id", name=op.f("uq_hub_client_keys_key_id")),
    )
    op.create_index(op.f("ix_hub_client_keys_client_id"), "hub_client_keys", ["client_id"])
    # The key each client has now keeps working, as its first key (its id derives from the
    # client's, so the migration needs no random ids).
    op.execute(
        "INSERT INTO hub_client_keys (id, client_id, name, key_id, secret_hash, created_at) "
        "SELECT 'ck_' || id, id, 'first key', key_id, secret_hash, created_at FROM hub_clients"
    )
    with op.batch_alter_table("hub_clients") as batch:
        batch.drop_constraint("uq_hub_clients_key_id", type_="unique")
        batch.drop_column("key_id")
        batch.drop_column("secret_hash")


def downgrade() -> None:
    with op.batch_alter_table("hub_clients") as batch:
        batch.add_column(sa.Column("key_id", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("secret_hash", sa.String(length=64), nullable=True))
    # Each client gets back its oldest live key; the others are lost with the table.
    op.execute(
        "UPDATE hub_clients SET key_id = (SELECT k.key_id FROM hub_client_keys k "
        "WHERE k.client_id = hub_clients.id AND k.revoked_at IS NULL ORDER BY k.created_at "
        "LIMIT 1), secret_hash = (SELECT k.secret_hash FROM hub_client_keys k "
        "WHERE k.client_id = hub_clients.id AND k.revoked_at IS NULL ORDER BY k.created_at "
        "LIMIT 1)"
    )
    op.drop_index(op.f("ix_hub_client_keys_client_id"), table_name="hub_client_keys")
    op.drop_table("hub_client_keys")
    with op.batch_alter_table("hub_clients") as batch:
        batch.create_unique_constraint("uq_hub_clients_key_id", ["key_id"])
