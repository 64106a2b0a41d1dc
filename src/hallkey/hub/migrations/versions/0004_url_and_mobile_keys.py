"""URL keys and mobile keys: a grant's key digest (URL key) or sealed token (mobile key), and
the Ed25519 keys that sign mobile keys.

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
    with op.batch_alter_table("hub_grants") as batch:
        batch.add_column(sa.Column("key_digest", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("key_nonce", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("key_sealed", sa.Text(), nullable=True))
        batch.create_index("ix_hub_grants_key_digest", ["key_digest"], unique=True)
    op.create_table(
        "hub_signing_keys",
        sa.Column("kid", sa.String(length=40), nullable=False),
        sa.Column("private_sealed", sa.Text(), nullable=False),
        sa.Column("public_jwk", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published_until_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("kid", name=op.f("pk_hub_signing_keys")),
    )


def downgrade() -> None:
    op.drop_table("hub_signing_keys")
    with op.batch_alter_table("hub_grants") as batch:
        batch.drop_index("ix_hub_grants_key_digest")
        batch.drop_column("key_sealed")
        batch.drop_column("key_nonce")
        batch.drop_column("key_digest")
