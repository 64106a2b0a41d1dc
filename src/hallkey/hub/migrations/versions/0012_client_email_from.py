"""A client's sender address: the From of the emails the hub sends to its guests.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ALTER, also on SQLite (see 0010).
    op.add_column("hub_clients", sa.Column("email_from", sa.String(length=320)))


def downgrade() -> None:
    op.drop_column("hub_clients", "email_from")
