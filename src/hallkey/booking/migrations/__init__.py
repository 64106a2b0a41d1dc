"""Alembic migrations of the booking context."""
