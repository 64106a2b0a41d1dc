"""Scoped API tokens, booking rules on resources, tenant host names, door-event ids unique per
tenant (and refs of 64 characters), and whether a reservation's contact is its customer.

Existing tokens keep what they could do (`staff` and `events:write`); operators should issue
the hub an `events:write`-only token and revoke the old one.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hallkey.core.db import UTCDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EVENTS = "booking_access_events"
OLD_EVENTS = "booking_access_events_0002"


def _events_table(
    id_columns: list[sa.Column[str]], primary_key: list[str], ref_length: int
) -> None:
    op.create_table(
        EVENTS,
        *id_columns,
        sa.Column("ref", sa.String(length=ref_length), nullable=True),
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
        sa.PrimaryKeyConstraint(*primary_key, name=op.f("pk_booking_access_events")),
    )
    op.create_index("ix_booking_access_events_ref_at", EVENTS, ["ref", "at"])


def _set_aside_events() -> None:
    """Renames the events table out of the way, with its constraints (global names on PG)."""
    op.drop_index("ix_booking_access_events_ref_at", table_name=EVENTS)
    op.rename_table(EVENTS, OLD_EVENTS)
    if op.get_bind().dialect.name == "postgresql":
        for name in (
            "pk_booking_access_events",
            "fk_booking_access_events_tenant_id_booking_tenants",
        ):
            op.execute(f"ALTER TABLE {OLD_EVENTS} RENAME CONSTRAINT {name} TO {name}_0002")


def upgrade() -> None:
    with op.batch_alter_table("booking_api_tokens") as batch:
        batch.add_column(sa.Column("scopes", sa.JSON(), nullable=True))
    op.execute("""UPDATE booking_api_tokens SET scopes = '["staff", "events:write"]'""")
    with op.batch_alter_table("booking_api_tokens") as batch:
        batch.alter_column("scopes", existing_type=sa.JSON(), nullable=False)

    with op.batch_alter_table("booking_resources") as batch:
        batch.add_column(
            sa.Column("min_booking_minutes", sa.Integer(), nullable=False, server_default="15")
        )
        batch.add_column(
            sa.Column("max_booking_minutes", sa.Integer(), nullable=False, server_default="1440")
        )
        batch.add_column(
            sa.Column("horizon_days", sa.Integer(), nullable=False, server_default="365")
        )

    with op.batch_alter_table("booking_reservations") as batch:
        batch.add_column(
            sa.Column("contact_is_customer", sa.Boolean(), nullable=False, server_default=sa.true())
        )

    op.create_table(
        "booking_tenant_hostnames",
        sa.Column("hostname", sa.String(length=253), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["booking_tenants.id"],
            name=op.f("fk_booking_tenant_hostnames_tenant_id_booking_tenants"),
        ),
        sa.PrimaryKeyConstraint("hostname", name=op.f("pk_booking_tenant_hostnames")),
    )
    op.create_index(
        op.f("ix_booking_tenant_hostnames_tenant_id"), "booking_tenant_hostnames", ["tenant_id"]
    )

    # The event id becomes unique per tenant: (tenant_id, event_id) is the new primary key.
    op.drop_index(op.f("ix_booking_access_events_tenant_id"), table_name=EVENTS)
    _set_aside_events()
    _events_table(
        [
            sa.Column("tenant_id", sa.String(length=40), nullable=False),
            sa.Column("event_id", sa.String(length=64), nullable=False),
        ],
        ["tenant_id", "event_id"],
        64,
    )
    op.execute(
        "INSERT INTO booking_access_events (tenant_id, event_id, ref, door, door_name, kind, "
        "reason, at, received_at) SELECT tenant_id, id, ref, door, door_name, kind, reason, at, "
        "received_at FROM booking_access_events_0002"
    )
    op.drop_table(OLD_EVENTS)


def downgrade() -> None:
    _set_aside_events()
    _events_table(
        [
            sa.Column("id", sa.String(length=64), nullable=False),
            sa.Column("tenant_id", sa.String(length=40), nullable=False),
        ],
        ["id"],
        40,
    )
    # Ids shared by several tenants keep one row; refs longer than 40 characters are dropped.
    op.execute(
        "INSERT INTO booking_access_events (id, tenant_id, ref, door, door_name, kind, reason, "
        "at, received_at) SELECT o.event_id, o.tenant_id, o.ref, o.door, o.door_name, o.kind, "
        "o.reason, o.at, o.received_at FROM booking_access_events_0002 o "
        "WHERE o.tenant_id = (SELECT MIN(p.tenant_id) FROM booking_access_events_0002 p "
        "WHERE p.event_id = o.event_id) AND (o.ref IS NULL OR LENGTH(o.ref) <= 40)"
    )
    op.create_index(op.f("ix_booking_access_events_tenant_id"), EVENTS, ["tenant_id"])
    op.drop_table(OLD_EVENTS)

    op.drop_index(
        op.f("ix_booking_tenant_hostnames_tenant_id"), table_name="booking_tenant_hostnames"
    )
    op.drop_table("booking_tenant_hostnames")
    with op.batch_alter_table("booking_reservations") as batch:
        batch.drop_column("contact_is_customer")
    with op.batch_alter_table("booking_resources") as batch:
        batch.drop_column("horizon_days")
        batch.drop_column("max_booking_minutes")
        batch.drop_column("min_booking_minutes")
    with op.batch_alter_table("booking_api_tokens") as batch:
        batch.drop_column("scopes")
