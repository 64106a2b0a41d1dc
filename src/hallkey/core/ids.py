"""Opaque ids such as `rsv_01jd…`: a ULID (Crockford base32, 26 characters) behind a prefix."""

from __future__ import annotations

import secrets

from ulid import ULID


def new_id(prefix: str) -> str:
    """Returns a new time-sortable id with the given prefix, e.g. `new_id("bkg")`."""
    return f"{prefix}_{str(ULID()).lower()}"


def new_ref() -> str:
    """Returns a new reservation ref: the only thing about a booking that reaches a door.

    All 128 bits are random: unlike `new_id`, a ref carries no creation time and cannot be
    told from the reservation id made in the same millisecond.
    """
    return f"rsv_{str(ULID.from_bytes(secrets.token_bytes(16))).lower()}"
