"""The one error of `hallkey apply`."""

from __future__ import annotations


class ApplyError(Exception):
    """A context refused a change or the set-up cannot be reached from what exists."""
