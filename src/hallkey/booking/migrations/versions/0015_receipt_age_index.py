"""Webhook receipts by age: the purge of old receipts reads this index, not the table.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_booking_webhook_receipts_received_at",
        "booking_webhook_receipts",
        ["received_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_booking_webhook_receipts_received_at", table_name="booking_webhook_receipts")
