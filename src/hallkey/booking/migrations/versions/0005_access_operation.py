"""Resources say how their doors open for a booking: a credential (`code`) or `unlock`.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("booking_resources") as batch:
        batch.add_column(
            sa.Column(
                "access_operation", sa.String(length=16), server_default="code", nullable=False
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("booking_resources") as batch:
        batch.drop_column("access_operation")
