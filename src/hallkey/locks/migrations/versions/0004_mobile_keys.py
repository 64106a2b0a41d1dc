"""Mobile keys: the hub's public keys (Ed25519 JWKs) that a controller verifies them with.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "locks_public_keys",
        sa.Column("controller_id", sa.String(length=40), nullable=False),
        sa.Column("kid", sa.String(length=40), nullable=False),
        sa.Column("x", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["controller_id"],
            ["locks_controllers.id"],
            name=op.f("fk_locks_public_keys_controller_id_locks_controllers"),
        ),
        sa.PrimaryKeyConstraint("controller_id", "kid", name=op.f("pk_locks_public_keys")),
    )


def downgrade() -> None:
    op.drop_table("locks_public_keys")
