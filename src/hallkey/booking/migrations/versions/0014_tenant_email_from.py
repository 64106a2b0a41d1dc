"""A tenant's sender address: the From of its emails to its customers.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ALTER, also on SQLite: a batch copy would have to drop a table others refer to.
    op.add_column("booking_tenants", sa.Column("email_from", sa.String(length=320)))


def downgrade() -> None:
    op.drop_column("booking_tenants", "email_from")
