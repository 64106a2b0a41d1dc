"""Booking rules: closed dates, public holidays, slot grid, lead time, buffer, open bookings per
customer, free cancellation; a reservation's block end (its end and buffer), the no-overlap
constraint on PostgreSQL over the widened range, and whether a cancellation is charged.

Existing reservations get block_end_at = end_at (they were booked without a buffer).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from hallkey.core.db import UTCDateTime

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONSTRAINT = "booking_reservations_no_overlap"
HOLDING = "WHERE (status IN ('requested', 'confirmed'))"


def _exclusion(end_column: str) -> None:
    op.execute(f"ALTER TABLE booking_reservations DROP CONSTRAINT IF EXISTS {CONSTRAINT}")
    op.execute(
        f"ALTER TABLE booking_reservations ADD CONSTRAINT {CONSTRAINT} EXCLUDE USING gist "
        f"(resource_id WITH =, tstzrange(start_at, {end_column}, '[)') WITH &&) {HOLDING}"
    )


def upgrade() -> None:
    # Plain ADD COLUMN (with a default, SQLite needs no batch): a batch would recreate
    # booking_resources, and SQLite refuses to drop a table its reservations reference.
    columns: list[sa.Column[Any]] = [
        sa.Column("closed_periods", sa.JSON(), server_default="[]", nullable=False),
        sa.Column(
            "public_holidays_closed", sa.Boolean(), server_default=sa.false(), nullable=False
        ),
        sa.Column("slot_minutes", sa.Integer(), nullable=True),
        sa.Column("lead_minutes", sa.Integer(), server_default="0", nullable=False),
        sa.Column("buffer_minutes", sa.Integer(), server_default="0", nullable=False),
        sa.Column("max_open_bookings", sa.Integer(), nullable=True),
        sa.Column("free_cancellation_hours", sa.Integer(), nullable=True),
    ]
    for column in columns:
        op.add_column("booking_resources", column)
    with op.batch_alter_table("booking_reservations") as batch:
        batch.add_column(sa.Column("block_end_at", UTCDateTime(), nullable=True))
        batch.add_column(
            sa.Column(
                "cancellation_charged", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )
    op.execute("UPDATE booking_reservations SET block_end_at = end_at")
    with op.batch_alter_table("booking_reservations") as batch:
        batch.alter_column("block_end_at", existing_type=UTCDateTime(), nullable=False)
    if op.get_bind().dialect.name == "postgresql":
        # The guarantee moves to the widened range: two holding reservations closer than the
        # first one's buffer are refused by the database, whatever the concurrency.
        _exclusion("block_end_at")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _exclusion("end_at")
    # Plain DROP COLUMN (SQLite 3.35+), for the same reason as the ADD COLUMNs above.
    op.drop_column("booking_reservations", "cancellation_charged")
    op.drop_column("booking_reservations", "block_end_at")
    for column in (
        "free_cancellation_hours",
        "max_open_bookings",
        "buffer_minutes",
        "lead_minutes",
        "slot_minutes",
        "public_holidays_closed",
        "closed_periods",
    ):
        op.drop_column("booking_resources", column)
