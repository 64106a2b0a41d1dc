"""Webhook messages with a topic: a grant's newer state replaces its undelivered one.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("hub_webhook_messages", sa.Column("topic", sa.String(length=64)))
    op.add_column(
        "hub_webhook_messages",
        sa.Column("version", sa.Integer(), nullable=False, server_default="1"),
    )
    op.create_index("ix_hub_webhook_messages_topic", "hub_webhook_messages", ["topic", "state"])


def downgrade() -> None:
    op.drop_index("ix_hub_webhook_messages_topic", table_name="hub_webhook_messages")
    with op.batch_alter_table("hub_webhook_messages") as batch:
        batch.drop_column("version")
        batch.drop_column("topic")
