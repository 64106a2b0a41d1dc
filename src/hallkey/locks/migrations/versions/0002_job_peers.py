"""Jobs name the peer they talk to and a priority, so that waiting work runs at once, in
order, when its peer answers again.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "locks_jobs"


def upgrade() -> None:
    with op.batch_alter_table(TABLE) as batch:
        batch.add_column(sa.Column("peer", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("priority", sa.Integer(), nullable=False, server_default="0"))
    op.create_index(f"ix_{TABLE}_peer", TABLE, ["peer", "status"], unique=False)


def downgrade() -> None:
    op.drop_index(f"ix_{TABLE}_peer", table_name=TABLE)
    with op.batch_alter_table(TABLE) as batch:
        batch.drop_column("priority")
        batch.drop_column("peer")
