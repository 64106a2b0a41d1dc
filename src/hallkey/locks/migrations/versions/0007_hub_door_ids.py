"""Doors remember the hub's id for them, which the `doors` claim of a mobile key names.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("locks_doors") as batch:
        batch.add_column(sa.Column("hub_door_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("locks_doors") as batch:
        batch.drop_column("hub_door_id")
