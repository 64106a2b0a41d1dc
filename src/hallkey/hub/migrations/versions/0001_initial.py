"""Initial hub schema: clients, sites, doors, grants, deliveries, door events, audit, jobs.

Revision ID: 0001
Revises:
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
        "hub_audit",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=40), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("door_id", sa.String(length=64), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hub_audit")),
    )
    op.create_index(op.f("ix_hub_audit_ref"), "hub_audit", ["ref"], unique=False)
    op.create_table(
        "hub_clients",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("events_url", sa.String(length=500), nullable=True),
        sa.Column("events_token_sealed", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hub_clients")),
        sa.UniqueConstraint("key_id", name=op.f("uq_hub_clients_key_id")),
    )
    op.create_table(
        "hub_jobs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("run_at", UTCDateTime(), nullable=False),
        sa.Column("locked_by", sa.String(length=64), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hub_jobs")),
    )
    op.create_index("ix_hub_jobs_due", "hub_jobs", ["status", "run_at"], unique=False)
    op.create_table(
        "hub_grants",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("client_id", sa.String(length=40), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("operation", sa.String(length=16), nullable=False),
        sa.Column("credential", sa.String(length=16), nullable=False),
        sa.Column("code_sealed", sa.Text(), nullable=True),
        sa.Column("code_digest", sa.String(length=64), nullable=True),
        sa.Column("valid_from_at", UTCDateTime(), nullable=False),
        sa.Column("valid_to_at", UTCDateTime(), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("deliver_via", sa.JSON(), nullable=False),
        sa.Column("recipient_phone_sealed", sa.Text(), nullable=True),
        sa.Column("recipient_email_sealed", sa.Text(), nullable=True),
        sa.Column("recipient_purged_at", UTCDateTime(), nullable=True),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"], ["hub_clients.id"], name=op.f("fk_hub_grants_client_id_hub_clients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hub_grants")),
        sa.UniqueConstraint("client_id", "ref", name=op.f("uq_hub_grants_client_id")),
    )
    op.create_index(op.f("ix_hub_grants_code_digest"), "hub_grants", ["code_digest"], unique=False)
    op.create_index("ix_hub_grants_revoked_at", "hub_grants", ["revoked_at"], unique=False)
    op.create_index("ix_hub_grants_valid_to_at", "hub_grants", ["valid_to_at"], unique=False)
    op.create_table(
        "hub_sites",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("client_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("connector", sa.String(length=32), nullable=False),
        sa.Column("config_sealed", sa.Text(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("pin_length", sa.Integer(), nullable=False),
        sa.Column("events_key_id", sa.String(length=32), nullable=False),
        sa.Column("events_secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["hub_clients.id"], name=op.f("fk_hub_sites_client_id_hub_clients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hub_sites")),
        sa.UniqueConstraint("events_key_id", name=op.f("uq_hub_sites_events_key_id")),
    )
    op.create_index(op.f("ix_hub_sites_client_id"), "hub_sites", ["client_id"], unique=False)
    op.create_table(
        "hub_deliveries",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("grant_id", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("template", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=64), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["hub_grants.id"],
            name=op.f("fk_hub_deliveries_grant_id_hub_grants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hub_deliveries")),
    )
    op.create_index(
        op.f("ix_hub_deliveries_grant_id"), "hub_deliveries", ["grant_id"], unique=False
    )
    op.create_table(
        "hub_doors",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("site_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("remote_id", sa.String(length=64), nullable=False),
        sa.Column("online", sa.Boolean(), nullable=False),
        sa.Column("battery", sa.Integer(), nullable=True),
        sa.Column("last_seen_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["hub_sites.id"], name=op.f("fk_hub_doors_site_id_hub_sites")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hub_doors")),
        sa.UniqueConstraint("site_id", "remote_id", name=op.f("uq_hub_doors_site_id")),
    )
    op.create_index(op.f("ix_hub_doors_site_id"), "hub_doors", ["site_id"], unique=False)
    op.create_table(
        "hub_grant_windows",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("grant_id", sa.String(length=40), nullable=False),
        sa.Column("valid_from_at", UTCDateTime(), nullable=False),
        sa.Column("valid_to_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["hub_grants.id"],
            name=op.f("fk_hub_grant_windows_grant_id_hub_grants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hub_grant_windows")),
    )
    op.create_index(
        "ix_hub_grant_windows_grant_id",
        "hub_grant_windows",
        ["grant_id", "valid_to_at"],
        unique=False,
    )
    op.create_table(
        "hub_door_events",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("site_id", sa.String(length=40), nullable=False),
        sa.Column("client_id", sa.String(length=40), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("door_id", sa.String(length=64), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("forwarded_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"], ["hub_clients.id"], name=op.f("fk_hub_door_events_client_id_hub_clients")
        ),
        sa.ForeignKeyConstraint(
            ["door_id"], ["hub_doors.id"], name=op.f("fk_hub_door_events_door_id_hub_doors")
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["hub_sites.id"], name=op.f("fk_hub_door_events_site_id_hub_sites")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hub_door_events")),
        sa.UniqueConstraint("site_id", "external_id", name=op.f("uq_hub_door_events_site_id")),
    )
    op.create_index(
        "ix_hub_door_events_client_at", "hub_door_events", ["client_id", "at"], unique=False
    )
    op.create_index(
        "ix_hub_door_events_client_forwarded",
        "hub_door_events",
        ["client_id", "forwarded_at"],
        unique=False,
    )
    op.create_index(
        "ix_hub_door_events_client_ref", "hub_door_events", ["client_id", "ref"], unique=False
    )
    op.create_table(
        "hub_grant_doors",
        sa.Column("grant_id", sa.String(length=40), nullable=False),
        sa.Column("door_id", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("desired_version", sa.Integer(), nullable=False),
        sa.Column("programmed_version", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["door_id"], ["hub_doors.id"], name=op.f("fk_hub_grant_doors_door_id_hub_doors")
        ),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["hub_grants.id"],
            name=op.f("fk_hub_grant_doors_grant_id_hub_grants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("grant_id", "door_id", name=op.f("pk_hub_grant_doors")),
    )
    op.create_index(
        "ix_hub_grant_doors_door_id", "hub_grant_doors", ["door_id", "action"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_hub_grant_doors_door_id", table_name="hub_grant_doors")
    op.drop_table("hub_grant_doors")
    op.drop_index("ix_hub_door_events_client_ref", table_name="hub_door_events")
    op.drop_index("ix_hub_door_events_client_forwarded", table_name="hub_door_events")
    op.drop_index("ix_hub_door_events_client_at", table_name="hub_door_events")
    op.drop_table("hub_door_events")
    op.drop_index("ix_hub_grant_windows_grant_id", table_name="hub_grant_windows")
    op.drop_table("hub_grant_windows")
    op.drop_index(op.f("ix_hub_doors_site_id"), table_name="hub_doors")
    op.drop_table("hub_doors")
    op.drop_index(op.f("ix_hub_deliveries_grant_id"), table_name="hub_deliveries")
    op.drop_table("hub_deliveries")
    op.drop_index(op.f("ix_hub_sites_client_id"), table_name="hub_sites")
    op.drop_table("hub_sites")
    op.drop_index("ix_hub_grants_valid_to_at", table_name="hub_grants")
    op.drop_index("ix_hub_grants_revoked_at", table_name="hub_grants")
    op.drop_index(op.f("ix_hub_grants_code_digest"), table_name="hub_grants")
    op.drop_table("hub_grants")
    op.drop_index("ix_hub_jobs_due", table_name="hub_jobs")
    op.drop_table("hub_jobs")
    op.drop_table("hub_clients")
    op.drop_index(op.f("ix_hub_audit_ref"), table_name="hub_audit")
    op.drop_table("hub_audit")
