"""Credential versions take 64 bits; door events the hub refused keep the reason.

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
    with op.batch_alter_table("locks_credentials") as batch:
        batch.alter_column(
            "version", existing_type=sa.Integer(), type_=sa.BigInteger(), existing_nullable=False
        )
    with op.batch_alter_table("locks_events") as batch:
        batch.add_column(sa.Column("quarantine_code", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("locks_events") as batch:
        batch.drop_column("quarantine_code")
    with op.batch_alter_table("locks_credentials") as batch:
        batch.alter_column(
            "version", existing_type=sa.BigInteger(), type_=sa.Integer(), existing_nullable=False
        )
