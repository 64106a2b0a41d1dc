"""Doors keep a bound on the places their credentials hold, so that programming a code need
not count the door's codes (`locks.places`).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("locks_doors") as batch:
        batch.add_column(
            sa.Column("places_bound", sa.Integer(), nullable=False, server_default="0")
        )
    # Every credential not revoked: at least as many as hold a place (some may have ended).
    op.execute(
        "UPDATE locks_doors SET places_bound = (SELECT count(*) FROM locks_credentials c "
        "WHERE c.door_id = locks_doors.id AND c.revoked = false)"
    )


def downgrade() -> None:
    with op.batch_alter_table("locks_doors") as batch:
        batch.drop_column("places_bound")
