"""Alembic environment of the booking context."""

from hallkey.booking import calendar_models  # noqa: F401  (registers its table)
from hallkey.booking.models import Base
from hallkey.core.migrations import run_env

run_env(Base.metadata)
