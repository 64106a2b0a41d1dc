"""Hub webhooks: the tenant's sealed webhook secret and the ids of the messages taken.

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
    # A plain ALTER, also on SQLite: a batch copy of the tenants table would have to drop a
    # table that every other one refers to.
    op.add_column("booking_tenants", sa.Column("hub_webhook_secret_sealed", sa.Text()))
    op.create_table(
        "booking_webhook_receipts",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("webhook_id", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["booking_tenants.id"],
            name=op.f("fk_booking_webhook_receipts_tenant_id_booking_tenants"),
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "webhook_id", name=op.f("pk_booking_webhook_receipts")
        ),
    )


def downgrade() -> None:
    op.drop_table("booking_webhook_receipts")
    op.drop_column("booking_tenants", "hub_webhook_secret_sealed")
