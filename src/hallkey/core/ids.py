"""Opaque, time-sortable ids such as `rsv_01JD…` (a ULID behind a short prefix)."""

from __future__ import annotations

from ulid import ULID


def new_id(prefix: str) -> str:
    """Returns a new random id with the given prefix, e.g. `new_id("rsv")`."""
    return f"{prefix}_{str(ULID()).lower()}"


def new_ref() -> str:
    """Returns a new reservation ref: the only thing about a booking that reaches a door."""
    return new_id("rsv")
