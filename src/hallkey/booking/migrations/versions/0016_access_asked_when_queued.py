"""A confirmed reservation is marked as asked for a grant when its push is queued.

Until now the push marked it when it ran. A confirmed reservation whose push was queued but
had not yet run has no mark: it gets one now, so that a cancel after the upgrade still revokes
what that push grants.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "UPDATE booking_reservations SET access_requested_at = updated_at"
        " WHERE status = 'confirmed' AND access_requested_at IS NULL AND series_id IS NULL"
    )


def downgrade() -> None:
    """Nothing to undo: the older code reads the mark the same way."""
