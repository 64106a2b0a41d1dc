"""Messages: a reminder's window, and an operator alert's facts, on each delivery.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hallkey.core.db import UTCDateTime

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("hub_deliveries") as batch:
        batch.add_column(sa.Column("window_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("facts", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("hub_deliveries") as batch:
        batch.drop_column("facts")
        batch.drop_column("window_at")
