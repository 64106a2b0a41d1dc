"""Outgoing calls leave no URL in the logs (a URL may carry a phone number or a key)."""

from __future__ import annotations

import logging

import httpx
import pytest

from hallkey.core.logs import QUIET_LOGGERS, configure_logging


def test_urls_logged__outgoing_request_logs_no_url_at_info(
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret_url = "http://127.0.0.1:9/send?to=%2B4741357986&text=kode+482915"
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={}))
    try:
        configure_logging("DEBUG")
        caplog.set_level("DEBUG")
        with httpx.Client(transport=transport) as client:
            assert client.get(secret_url).status_code == 200
        logged = "\n".join(r.getMessage() for r in caplog.records)
        assert "4741357986" not in logged and "482915" not in logged and "/send" not in logged
    finally:
        for name in QUIET_LOGGERS:
            logging.getLogger(name).setLevel(logging.NOTSET)
