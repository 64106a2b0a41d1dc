"""Hub operators who sign in to the admin pages, and their sessions.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hallkey.core.db import UTCDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "hub_admins",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hub_admins")),
        sa.UniqueConstraint("username", name=op.f("uq_hub_admins_username")),
    )
    op.create_table(
        "hub_admin_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_used_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["hub_admins.id"], name=op.f("fk_hub_admin_sessions_user_id_hub_admins")
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_hub_admin_sessions")),
    )
    op.create_index(op.f("ix_hub_admin_sessions_user_id"), "hub_admin_sessions", ["user_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_hub_admin_sessions_user_id"), table_name="hub_admin_sessions")
    op.drop_table("hub_admin_sessions")
    op.drop_table("hub_admins")
