"""Alembic environment of the door controller's database."""

from hallkey.core.migrations import run_env
from hallkey.locks.models import Base

run_env(Base.metadata)
