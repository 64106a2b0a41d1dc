"""The customers' secret calendar feeds: one per customer, found by the token's hash.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hallkey.core.db import UTCDateTime

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FEEDS = "booking_calendar_feeds"


def upgrade() -> None:
    op.create_table(
        FEEDS,
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["booking_tenants.id"],
            name=op.f(f"fk_{FEEDS}_tenant_id_booking_tenants"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["booking_customers.id"],
            name=op.f(f"fk_{FEEDS}_customer_id_booking_customers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{FEEDS}")),
        sa.UniqueConstraint("customer_id", name=op.f(f"uq_{FEEDS}_customer_id")),
        sa.UniqueConstraint("token_hash", name=op.f(f"uq_{FEEDS}_token_hash")),
    )
    op.create_index(op.f(f"ix_{FEEDS}_tenant_id"), FEEDS, ["tenant_id"])


def downgrade() -> None:
    op.drop_table(FEEDS)
