"""SMS access: the keyed hash of a grant's phone, and answers to inbound SMS.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("hub_grants") as batch:
        batch.add_column(sa.Column("phone_digest", sa.String(length=64), nullable=True))
        batch.create_index("ix_hub_grants_phone_digest", ["phone_digest"])
    with op.batch_alter_table("hub_deliveries") as batch:
        batch.alter_column("grant_id", existing_type=sa.String(length=40), nullable=True)
        batch.add_column(sa.Column("to_sealed", sa.Text(), nullable=True))
        batch.add_column(sa.Column("locale", sa.String(length=8), nullable=True))


def downgrade() -> None:
    op.execute("DELETE FROM hub_deliveries WHERE grant_id IS NULL")
    with op.batch_alter_table("hub_deliveries") as batch:
        batch.drop_column("locale")
        batch.drop_column("to_sealed")
        batch.alter_column("grant_id", existing_type=sa.String(length=40), nullable=False)
    with op.batch_alter_table("hub_grants") as batch:
        batch.drop_index("ix_hub_grants_phone_digest")
        batch.drop_column("phone_digest")
