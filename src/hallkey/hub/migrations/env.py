"""Alembic environment of the hub's migrations."""

from hallkey.core.migrations import run_env
from hallkey.hub.models import Base

run_env(Base.metadata)
