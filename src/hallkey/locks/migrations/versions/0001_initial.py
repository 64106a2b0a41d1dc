"""The door controller's tables: controllers, doors, credentials and windows, events, jobs.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
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
        "locks_controllers",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("api_key_id", sa.String(length=32), nullable=False),
        sa.Column("api_secret_hash", sa.String(length=64), nullable=False),
        sa.Column("pin_secret_sealed", sa.Text(), nullable=False),
        sa.Column("hub_events_url", sa.String(length=500), nullable=True),
        sa.Column("hub_events_token_sealed", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_locks_controllers")),
        sa.UniqueConstraint("api_key_id", name=op.f("uq_locks_controllers_api_key_id")),
    )
    op.create_table(
        "locks_jobs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("run_at", UTCDateTime(), nullable=False),
        sa.Column("locked_by", sa.String(length=64), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_locks_jobs")),
    )
    op.create_index("ix_locks_jobs_due", "locks_jobs", ["status", "run_at"], unique=False)
    op.create_table(
        "locks_doors",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("controller_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("unlocked_until_at", UTCDateTime(), nullable=True),
        sa.Column("locked_out_until_at", UTCDateTime(), nullable=True),
        sa.Column("max_credentials", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["controller_id"],
            ["locks_controllers.id"],
            name=op.f("fk_locks_doors_controller_id_locks_controllers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_locks_doors")),
    )
    op.create_index(
        op.f("ix_locks_doors_controller_id"), "locks_doors", ["controller_id"], unique=False
    )
    op.create_table(
        "locks_credentials",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("door_id", sa.String(length=64), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("code_digest", sa.String(length=64), nullable=True),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["door_id"], ["locks_doors.id"], name=op.f("fk_locks_credentials_door_id_locks_doors")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_locks_credentials")),
        sa.UniqueConstraint("door_id", "ref", name="uq_locks_credentials_door_id_ref"),
    )
    op.create_index(
        "ix_locks_credentials_door_id_code_digest",
        "locks_credentials",
        ["door_id", "code_digest"],
        unique=False,
    )
    op.create_table(
        "locks_events",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("door_id", sa.String(length=64), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("pushed_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["door_id"], ["locks_doors.id"], name=op.f("fk_locks_events_door_id_locks_doors")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_locks_events")),
    )
    op.create_index("ix_locks_events_door_id_at", "locks_events", ["door_id", "at"], unique=False)
    op.create_index("ix_locks_events_pushed_at", "locks_events", ["pushed_at"], unique=False)
    op.create_index("ix_locks_events_ref", "locks_events", ["ref"], unique=False)
    op.create_table(
        "locks_credential_windows",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("credential_id", sa.String(length=40), nullable=False),
        sa.Column("valid_from_at", UTCDateTime(), nullable=False),
        sa.Column("valid_to_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["credential_id"],
            ["locks_credentials.id"],
            name=op.f("fk_locks_credential_windows_credential_id_locks_credentials"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_locks_credential_windows")),
    )
    op.create_index(
        op.f("ix_locks_credential_windows_credential_id"),
        "locks_credential_windows",
        ["credential_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_locks_credential_windows_credential_id"), table_name="locks_credential_windows"
    )
    op.drop_table("locks_credential_windows")
    op.drop_index("ix_locks_events_ref", table_name="locks_events")
    op.drop_index("ix_locks_events_pushed_at", table_name="locks_events")
    op.drop_index("ix_locks_events_door_id_at", table_name="locks_events")
    op.drop_table("locks_events")
    op.drop_index("ix_locks_credentials_door_id_code_digest", table_name="locks_credentials")
    op.drop_table("locks_credentials")
    op.drop_index(op.f("ix_locks_doors_controller_id"), table_name="locks_doors")
    op.drop_table("locks_doors")
    op.drop_index("ix_locks_jobs_due", table_name="locks_jobs")
    op.drop_table("locks_jobs")
    op.drop_table("locks_controllers")
