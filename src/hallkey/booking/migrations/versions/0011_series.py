"""Series: a club's weekly season with one key (`booking_series`), and each occurrence's
`series_id` on its reservation.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hallkey.core.db import UTCDateTime

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "booking_series",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("tenant_id", sa.String(40), nullable=False),
        sa.Column("resource_id", sa.String(40), nullable=False),
        sa.Column("customer_id", sa.String(40), nullable=False),
        sa.Column("contact_name", sa.String(200), nullable=True),
        sa.Column("contact_phone", sa.String(32), nullable=True),
        sa.Column("contact_email", sa.String(320), nullable=True),
        sa.Column("contact_is_customer", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("ref", sa.String(40), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("weekdays", sa.JSON(), nullable=False),
        sa.Column("start_time", sa.String(5), nullable=False),
        sa.Column("end_time", sa.String(5), nullable=False),
        sa.Column("from_date", sa.Date(), nullable=False),
        sa.Column("to_date", sa.Date(), nullable=False),
        sa.Column("every_weeks", sa.Integer(), nullable=False),
        sa.Column("except_dates", sa.JSON(), server_default="[]", nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("access_state", sa.String(16), nullable=False),
        sa.Column("access_credential", sa.String(20), nullable=False),
        sa.Column("access_secret_sealed", sa.Text(), nullable=True),
        sa.Column("access_error", sa.String(64), nullable=True),
        sa.Column("access_requested_at", UTCDateTime(), nullable=True),
        sa.Column("locale", sa.String(8), server_default="nb", nullable=False),
        sa.Column("decided_by", sa.String(80), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("price_group", sa.String(40), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["booking_tenants.id"],
            name=op.f("fk_booking_series_tenant_id_booking_tenants"),
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["booking_resources.id"],
            name=op.f("fk_booking_series_resource_id_booking_resources"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["booking_customers.id"],
            name=op.f("fk_booking_series_customer_id_booking_customers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_series")),
        sa.UniqueConstraint("ref", name=op.f("uq_booking_series_ref")),
    )
    for column in ("tenant_id", "resource_id", "customer_id"):
        op.create_index(op.f(f"ix_booking_series_{column}"), "booking_series", [column])
    with op.batch_alter_table("booking_reservations") as batch:
        batch.add_column(sa.Column("series_id", sa.String(40), nullable=True))
        batch.create_foreign_key(
            op.f("fk_booking_reservations_series_id_booking_series"),
            "booking_series",
            ["series_id"],
            ["id"],
        )
        batch.create_index(op.f("ix_booking_reservations_series_id"), ["series_id"])


def downgrade() -> None:
    with op.batch_alter_table("booking_reservations") as batch:
        batch.drop_index(op.f("ix_booking_reservations_series_id"))
        batch.drop_constraint(
            op.f("fk_booking_reservations_series_id_booking_series"), type_="foreignkey"
        )
        batch.drop_column("series_id")
    for column in ("tenant_id", "resource_id", "customer_id"):
        op.drop_index(op.f(f"ix_booking_series_{column}"), "booking_series")
    op.drop_table("booking_series")
