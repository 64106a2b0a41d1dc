"""Prices per resource and price group, the price stored on each reservation, the language of
a reservation's emails and a denial's reason.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hallkey.core.db import UTCDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PRICES = "booking_prices"
RESERVATION_PRICE: tuple[tuple[str, sa.types.TypeEngine[int] | sa.types.TypeEngine[str]], ...] = (
    ("price_group", sa.String(length=40)),
    ("price_unit", sa.String(length=8)),
    ("price_net_ore", sa.BigInteger()),
    ("price_vat_ore", sa.BigInteger()),
    ("price_gross_ore", sa.BigInteger()),
    ("price_vat_basis_points", sa.Integer()),
)


def upgrade() -> None:
    op.create_table(
        PRICES,
        sa.Column("resource_id", sa.String(length=40), nullable=False),
        sa.Column("price_group", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("unit", sa.String(length=8), nullable=False),
        sa.Column("amount_ore", sa.BigInteger(), nullable=False),
        sa.Column("vat_basis_points", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["booking_resources.id"],
            name=op.f("fk_booking_prices_resource_id_booking_resources"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["booking_tenants.id"],
            name=op.f("fk_booking_prices_tenant_id_booking_tenants"),
        ),
        sa.PrimaryKeyConstraint("resource_id", "price_group", name=op.f("pk_booking_prices")),
    )
    op.create_index(op.f("ix_booking_prices_tenant_id"), PRICES, ["tenant_id"])
    with op.batch_alter_table("booking_reservations") as batch:
        batch.add_column(
            sa.Column("locale", sa.String(length=8), nullable=False, server_default="nb")
        )
        batch.add_column(sa.Column("decision_reason", sa.Text(), nullable=True))
        for name, type_ in RESERVATION_PRICE:
            batch.add_column(sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("booking_reservations") as batch:
        for name, _type in reversed(RESERVATION_PRICE):
            batch.drop_column(name)
        batch.drop_column("decision_reason")
        batch.drop_column("locale")
    op.drop_index(op.f("ix_booking_prices_tenant_id"), table_name=PRICES)
    op.drop_table(PRICES)
