"""Grants remember the highest revision a client sent; door events a client refused for good
are quarantined with the reason.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("hub_grants") as batch:
        batch.add_column(sa.Column("revision", sa.BigInteger(), nullable=False, server_default="0"))
    with op.batch_alter_table("hub_door_events") as batch:
        batch.add_column(sa.Column("forward_error", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("hub_door_events") as batch:
        batch.drop_column("forward_error")
    with op.batch_alter_table("hub_grants") as batch:
        batch.drop_column("revision")
