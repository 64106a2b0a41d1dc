"""Logging set-up. Log lines name ids, refs and outcomes: never people, codes or keys."""

from __future__ import annotations

import logging

QUIET_LOGGERS = ("httpx", "httpcore")
"""Libraries that log every outgoing request with its URL at INFO (or DEBUG). A URL may carry
a phone number, a text or a key in its query (an SMS gateway's, a device's): they are held
at WARNING, whatever the level of hallkey's own logs."""


def configure_logging(level: str) -> None:
    """Sends hallkey's logs to stderr at `level`, keeping outgoing URLs out of them."""
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
