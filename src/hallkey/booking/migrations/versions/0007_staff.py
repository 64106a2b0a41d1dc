"""Staff accounts: usernames unique per tenant, a caretaker's venues, a disabled flag;
sign-in sessions (hashed); personal API tokens tied to their staff member.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hallkey.core.db import UTCDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("booking_staff_users") as batch:
        batch.drop_constraint("uq_booking_staff_users_username", type_="unique")
        batch.create_unique_constraint(
            "uq_booking_staff_users_tenant_username", ["tenant_id", "username"]
        )
        batch.add_column(sa.Column("venue_ids", sa.JSON(), server_default="[]", nullable=False))
        batch.add_column(sa.Column("disabled_at", UTCDateTime(), nullable=True))
    with op.batch_alter_table("booking_api_tokens") as batch:
        batch.add_column(sa.Column("staff_user_id", sa.String(length=40), nullable=True))
        batch.create_foreign_key(
            op.f("fk_booking_api_tokens_staff_user_id_booking_staff_users"),
            "booking_staff_users",
            ["staff_user_id"],
            ["id"],
        )
        batch.create_index(op.f("ix_booking_api_tokens_staff_user_id"), ["staff_user_id"])
    op.create_table(
        "booking_staff_sessions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("secret_hash", sa.String(length=128), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("staff_user_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["booking_tenants.id"],
            name=op.f("fk_booking_staff_sessions_tenant_id_booking_tenants"),
        ),
        sa.ForeignKeyConstraint(
            ["staff_user_id"],
            ["booking_staff_users.id"],
            name=op.f("fk_booking_staff_sessions_staff_user_id_booking_staff_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_staff_sessions")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_booking_staff_sessions_secret_hash")),
    )
    op.create_index(
        op.f("ix_booking_staff_sessions_staff_user_id"),
        "booking_staff_sessions",
        ["staff_user_id"],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_booking_staff_sessions_staff_user_id"), table_name="booking_staff_sessions"
    )
    op.drop_table("booking_staff_sessions")
    with op.batch_alter_table("booking_api_tokens") as batch:
        batch.drop_index(op.f("ix_booking_api_tokens_staff_user_id"))
        batch.drop_constraint(
            op.f("fk_booking_api_tokens_staff_user_id_booking_staff_users"), type_="foreignkey"
        )
        batch.drop_column("staff_user_id")
    with op.batch_alter_table("booking_staff_users") as batch:
        batch.drop_column("disabled_at")
        batch.drop_column("venue_ids")
        batch.drop_constraint("uq_booking_staff_users_tenant_username", type_="unique")
        batch.create_unique_constraint("uq_booking_staff_users_username", ["username"])
