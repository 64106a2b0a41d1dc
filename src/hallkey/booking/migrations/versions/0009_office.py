"""The approval desk and customers: a decision's actor, time and reason on reservations; the
list indexes; price groups (which may require approval); customers' kind and price group,
organisations' contact persons; customers' one-time sign-in links and sessions.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hallkey.core.db import UTCDateTime

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RESERVATIONS = "booking_reservations"


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"], ["booking_tenants.id"], name=op.f(f"fk_{table}_tenant_id_booking_tenants")
    )


def _customer_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["customer_id"],
        ["booking_customers.id"],
        name=op.f(f"fk_{table}_customer_id_booking_customers"),
    )


def upgrade() -> None:
    with op.batch_alter_table(RESERVATIONS) as batch:
        batch.add_column(sa.Column("decided_by", sa.String(length=80), nullable=True))
        batch.add_column(sa.Column("decided_at", UTCDateTime(), nullable=True))
    op.create_index(
        "ix_booking_reservations_tenant_start", RESERVATIONS, ["tenant_id", "start_at", "id"]
    )
    op.create_index(
        "ix_booking_reservations_tenant_status",
        RESERVATIONS,
        ["tenant_id", "status", "start_at", "id"],
    )
    with op.batch_alter_table("booking_customers") as batch:
        batch.add_column(
            sa.Column("kind", sa.String(length=16), server_default="person", nullable=False)
        )
        batch.add_column(sa.Column("price_group", sa.String(length=40), nullable=True))
    # A customer booked with an org number so far is an organisation.
    op.execute("UPDATE booking_customers SET kind = 'organisation' WHERE org_number IS NOT NULL")

    groups = "booking_price_groups"
    op.create_table(
        groups,
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("requires_approval", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        _tenant_fk(groups),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{groups}")),
        sa.UniqueConstraint("tenant_id", "key", name="uq_booking_price_groups_key"),
    )
    op.create_index(op.f(f"ix_{groups}_tenant_id"), groups, ["tenant_id"])

    contacts = "booking_customer_contacts"
    op.create_table(
        contacts,
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        _customer_fk(contacts),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{contacts}")),
    )
    op.create_index(op.f(f"ix_{contacts}_customer_id"), contacts, ["customer_id"])

    sign_ins = "booking_customer_sign_ins"
    op.create_table(
        sign_ins,
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        _tenant_fk(sign_ins),
        _customer_fk(sign_ins),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{sign_ins}")),
        sa.UniqueConstraint("token_hash", name=op.f(f"uq_{sign_ins}_token_hash")),
    )
    op.create_index(op.f(f"ix_{sign_ins}_tenant_id"), sign_ins, ["tenant_id"])
    op.create_index(op.f(f"ix_{sign_ins}_customer_id"), sign_ins, ["customer_id"])


def downgrade() -> None:
    op.drop_table("booking_customer_sign_ins")
    op.drop_table("booking_customer_contacts")
    op.drop_table("booking_price_groups")
    # Not a batch copy: on SQLite that drops and renames the table, which the reservations'
    # foreign key forbids. SQLite (3.35+) and PostgreSQL both drop a plain column in place.
    op.execute("ALTER TABLE booking_customers DROP COLUMN price_group")
    op.execute("ALTER TABLE booking_customers DROP COLUMN kind")
    op.drop_index("ix_booking_reservations_tenant_status", table_name=RESERVATIONS)
    op.drop_index("ix_booking_reservations_tenant_start", table_name=RESERVATIONS)
    with op.batch_alter_table(RESERVATIONS) as batch:
        batch.drop_column("decided_at")
        batch.drop_column("decided_by")
