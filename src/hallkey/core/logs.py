"""Logging set-up. Log lines name ids, refs and outcomes: never people, codes or keys."""

from __future__ import annotations

import logging


def configure_logging(level: str) -> None:
    """Sends hallkey's logs to stderr at `level`."""
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
