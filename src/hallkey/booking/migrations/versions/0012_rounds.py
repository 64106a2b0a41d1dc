"""Application rounds (seasonal allocation): rounds, applications, wishes, allocations.

Revision ID: 0012
Revises: 0011 (the series it publishes into)
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hallkey.core.db import UTCDateTime

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROUNDS = "booking_rounds"
APPLICATIONS = "booking_round_applications"
WISHES = "booking_round_wishes"
ALLOCATIONS = "booking_round_allocations"


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def _slot_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("resource_id", sa.String(length=40), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("start_time", sa.String(length=5), nullable=False),
        sa.Column("end_time", sa.String(length=5), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        ROUNDS,
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("period_from", sa.Date(), nullable=False),
        sa.Column("period_to", sa.Date(), nullable=False),
        sa.Column("resource_ids", sa.JSON(), nullable=False),
        sa.Column("deadline_at", UTCDateTime(), nullable=False),
        sa.Column("publish_started_at", UTCDateTime(), nullable=True),
        sa.Column("published_at", UTCDateTime(), nullable=True),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        _fk(ROUNDS, "tenant_id", "booking_tenants"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{ROUNDS}")),
    )
    op.create_index("ix_booking_rounds_tenant_deadline", ROUNDS, ["tenant_id", "deadline_at"])

    op.create_table(
        APPLICATIONS,
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("round_id", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=True),
        sa.Column("organisation", sa.String(length=200), nullable=False),
        sa.Column("org_number", sa.String(length=9), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("result_queued_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        _fk(APPLICATIONS, "tenant_id", "booking_tenants"),
        _fk(APPLICATIONS, "round_id", ROUNDS),
        _fk(APPLICATIONS, "customer_id", "booking_customers"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{APPLICATIONS}")),
        sa.UniqueConstraint("key_hash", name=op.f(f"uq_{APPLICATIONS}_key_hash")),
    )
    for column in ("tenant_id", "round_id", "customer_id"):
        op.create_index(op.f(f"ix_{APPLICATIONS}_{column}"), APPLICATIONS, [column])

    op.create_table(
        WISHES,
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("round_id", sa.String(length=40), nullable=False),
        sa.Column("application_id", sa.String(length=40), nullable=False),
        *_slot_columns(),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("age_group", sa.String(length=16), nullable=False),
        sa.Column("participants", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decline_reason", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(length=80), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        _fk(WISHES, "round_id", ROUNDS),
        _fk(WISHES, "application_id", APPLICATIONS),
        _fk(WISHES, "resource_id", "booking_resources"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{WISHES}")),
    )
    op.create_index("ix_booking_round_wishes_slot", WISHES, ["round_id", "resource_id", "weekday"])
    op.create_index(op.f(f"ix_{WISHES}_application_id"), WISHES, ["application_id"])

    op.create_table(
        ALLOCATIONS,
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("round_id", sa.String(length=40), nullable=False),
        sa.Column("wish_id", sa.String(length=40), nullable=False),
        sa.Column("application_id", sa.String(length=40), nullable=False),
        *_slot_columns(),
        sa.Column("series_id", sa.String(length=40), nullable=True),
        sa.Column("skipped_dates", sa.JSON(), nullable=False),
        sa.Column("publish_error", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        _fk(ALLOCATIONS, "round_id", ROUNDS),
        _fk(ALLOCATIONS, "wish_id", WISHES),
        _fk(ALLOCATIONS, "application_id", APPLICATIONS),
        _fk(ALLOCATIONS, "resource_id", "booking_resources"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{ALLOCATIONS}")),
        sa.UniqueConstraint("wish_id", name=op.f(f"uq_{ALLOCATIONS}_wish_id")),
    )
    op.create_index(
        "ix_booking_round_allocations_slot", ALLOCATIONS, ["round_id", "resource_id", "weekday"]
    )
    op.create_index(op.f(f"ix_{ALLOCATIONS}_application_id"), ALLOCATIONS, ["application_id"])


def downgrade() -> None:
    op.drop_table(ALLOCATIONS)
    op.drop_table(WISHES)
    op.drop_table(APPLICATIONS)
    op.drop_table(ROUNDS)
