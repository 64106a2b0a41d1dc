"""Initial booking schema, with the no-overlap exclusion constraint on PostgreSQL.

Revision ID: 0001
Revises:
Create Date: 2026-11-25 18:31:29.349887
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hallkey.core.db import UTCDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "booking_jobs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("run_at", UTCDateTime(), nullable=False),
        sa.Column("locked_by", sa.String(length=64), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_jobs")),
    )
    op.create_index("ix_booking_jobs_due", "booking_jobs", ["status", "run_at"])

    op.create_table(
        "booking_tenants",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("hub_url", sa.String(length=500), nullable=False),
        sa.Column("hub_api_key_sealed", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_tenants")),
        sa.UniqueConstraint("slug", name=op.f("uq_booking_tenants_slug")),
    )
    op.create_table(
        "booking_access_events",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("ref", sa.String(length=40), nullable=True),
        sa.Column("door", sa.String(length=64), nullable=False),
        sa.Column("door_name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["booking_tenants.id"],
            name=op.f("fk_booking_access_events_tenant_id_booking_tenants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_access_events")),
    )
    op.create_index("ix_booking_access_events_ref_at", "booking_access_events", ["ref", "at"])
    op.create_index(
        op.f("ix_booking_access_events_tenant_id"), "booking_access_events", ["tenant_id"]
    )

    op.create_table(
        "booking_api_tokens",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("key_id", sa.String(length=40), nullable=False),
        sa.Column("secret_hash", sa.String(length=128), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["booking_tenants.id"],
            name=op.f("fk_booking_api_tokens_tenant_id_booking_tenants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_api_tokens")),
        sa.UniqueConstraint("key_id", name=op.f("uq_booking_api_tokens_key_id")),
    )
    op.create_index(op.f("ix_booking_api_tokens_tenant_id"), "booking_api_tokens", ["tenant_id"])

    op.create_table(
        "booking_customers",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("organisation", sa.String(length=200), nullable=True),
        sa.Column("org_number", sa.String(length=32), nullable=True),
        sa.Column("erased_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["booking_tenants.id"],
            name=op.f("fk_booking_customers_tenant_id_booking_tenants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_customers")),
        sa.UniqueConstraint("tenant_id", "email", name="uq_booking_customers_email"),
    )
    op.create_index(op.f("ix_booking_customers_tenant_id"), "booking_customers", ["tenant_id"])

    op.create_table(
        "booking_staff_users",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["booking_tenants.id"],
            name=op.f("fk_booking_staff_users_tenant_id_booking_tenants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_staff_users")),
        sa.UniqueConstraint("username", name=op.f("uq_booking_staff_users_username")),
    )
    op.create_index(op.f("ix_booking_staff_users_tenant_id"), "booking_staff_users", ["tenant_id"])

    op.create_table(
        "booking_venues",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("address", sa.String(length=500), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["booking_tenants.id"],
            name=op.f("fk_booking_venues_tenant_id_booking_tenants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_venues")),
    )
    op.create_index(op.f("ix_booking_venues_tenant_id"), "booking_venues", ["tenant_id"])

    op.create_table(
        "booking_resources",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("venue_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("door_ids", sa.JSON(), nullable=False),
        sa.Column("credential", sa.String(length=20), nullable=False),
        sa.Column("access_before_minutes", sa.Integer(), nullable=False),
        sa.Column("access_after_minutes", sa.Integer(), nullable=False),
        sa.Column("opening_hours", sa.JSON(), nullable=True),
        sa.Column("approval_required", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["booking_tenants.id"],
            name=op.f("fk_booking_resources_tenant_id_booking_tenants"),
        ),
        sa.ForeignKeyConstraint(
            ["venue_id"],
            ["booking_venues.id"],
            name=op.f("fk_booking_resources_venue_id_booking_venues"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_resources")),
    )
    op.create_index(op.f("ix_booking_resources_tenant_id"), "booking_resources", ["tenant_id"])
    op.create_index(op.f("ix_booking_resources_venue_id"), "booking_resources", ["venue_id"])

    op.create_table(
        "booking_reservations",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("resource_id", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("contact_name", sa.String(length=200), nullable=True),
        sa.Column("contact_phone", sa.String(length=32), nullable=True),
        sa.Column("contact_email", sa.String(length=320), nullable=True),
        sa.Column("ref", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("start_at", UTCDateTime(), nullable=False),
        sa.Column("end_at", UTCDateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("access_state", sa.String(length=16), nullable=False),
        sa.Column("access_credential", sa.String(length=20), nullable=False),
        sa.Column("access_secret_sealed", sa.Text(), nullable=True),
        sa.Column("access_error", sa.String(length=64), nullable=True),
        sa.Column("access_requested_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["booking_customers.id"],
            name=op.f("fk_booking_reservations_customer_id_booking_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["booking_resources.id"],
            name=op.f("fk_booking_reservations_resource_id_booking_resources"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["booking_tenants.id"],
            name=op.f("fk_booking_reservations_tenant_id_booking_tenants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_reservations")),
        sa.UniqueConstraint("ref", name=op.f("uq_booking_reservations_ref")),
    )
    op.create_index(
        op.f("ix_booking_reservations_customer_id"), "booking_reservations", ["customer_id"]
    )
    op.create_index(
        "ix_booking_reservations_resource_span",
        "booking_reservations",
        ["resource_id", "start_at", "end_at"],
    )
    op.create_index(
        op.f("ix_booking_reservations_tenant_id"), "booking_reservations", ["tenant_id"]
    )

    if op.get_bind().dialect.name == "postgresql":
        # The database itself guarantees that two holding reservations of one resource never
        # overlap, whatever the concurrency; SQLite serialises writers instead (BEGIN IMMEDIATE).
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        op.execute(
            "ALTER TABLE booking_reservations ADD CONSTRAINT booking_reservations_no_overlap "
            "EXCLUDE USING gist (resource_id WITH =, tstzrange(start_at, end_at, '[)') WITH &&) "
            "WHERE (status IN ('requested', 'confirmed'))"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE booking_reservations "
            "DROP CONSTRAINT IF EXISTS booking_reservations_no_overlap"
        )
    op.drop_index(op.f("ix_booking_reservations_tenant_id"), table_name="booking_reservations")
    op.drop_index("ix_booking_reservations_resource_span", table_name="booking_reservations")
    op.drop_index(op.f("ix_booking_reservations_customer_id"), table_name="booking_reservations")

    op.drop_table("booking_reservations")
    op.drop_index(op.f("ix_booking_resources_venue_id"), table_name="booking_resources")
    op.drop_index(op.f("ix_booking_resources_tenant_id"), table_name="booking_resources")

    op.drop_table("booking_resources")
    op.drop_index(op.f("ix_booking_venues_tenant_id"), table_name="booking_venues")

    op.drop_table("booking_venues")
    op.drop_index(op.f("ix_booking_staff_users_tenant_id"), table_name="booking_staff_users")

    op.drop_table("booking_staff_users")
    op.drop_index(op.f("ix_booking_customers_tenant_id"), table_name="booking_customers")

    op.drop_table("booking_customers")
    op.drop_index(op.f("ix_booking_api_tokens_tenant_id"), table_name="booking_api_tokens")

    op.drop_table("booking_api_tokens")
    op.drop_index(op.f("ix_booking_access_events_tenant_id"), table_name="booking_access_events")
    op.drop_index("ix_booking_access_events_ref_at", table_name="booking_access_events")

    op.drop_table("booking_access_events")
    op.drop_table("booking_tenants")
    op.drop_index("ix_booking_jobs_due", table_name="booking_jobs")

    op.drop_table("booking_jobs")
