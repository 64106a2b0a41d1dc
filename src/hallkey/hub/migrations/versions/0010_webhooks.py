"""Webhooks: a client's webhook URL and sealed secret, and the messages sent to it.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTERs, also on SQLite: a batch copy of the clients table would have to drop a
    # table that sites, grants and events refer to.
    op.add_column("hub_clients", sa.Column("webhook_url", sa.String(length=500)))
    op.add_column("hub_clients", sa.Column("webhook_secret_sealed", sa.Text()))
    op.add_column(
        "hub_clients",
        sa.Column("webhook_allow_private", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "hub_webhook_messages",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("client_id", sa.String(length=40), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retry_from_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["hub_clients.id"],
            name=op.f("fk_hub_webhook_messages_client_id_hub_clients"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hub_webhook_messages")),
    )
    op.create_index(
        "ix_hub_webhook_messages_state", "hub_webhook_messages", ["state", "created_at"]
    )
    op.create_index(
        op.f("ix_hub_webhook_messages_client_id"), "hub_webhook_messages", ["client_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_hub_webhook_messages_client_id"), table_name="hub_webhook_messages")
    op.drop_index("ix_hub_webhook_messages_state", table_name="hub_webhook_messages")
    op.drop_table("hub_webhook_messages")
    for column in ("webhook_allow_private", "webhook_secret_sealed", "webhook_url"):
        op.drop_column("hub_clients", column)
