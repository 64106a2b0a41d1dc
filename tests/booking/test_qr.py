"""The QR code of a mobile key, read back as a phone's camera would."""

from __future__ import annotations

from pathlib import Path

import pytest

from hallkey.booking.qr import qr_svg
from tests.booking.qr_reader import read_qr

# The shape of a real mobile key: three base64url parts, a few hundred characters.
TOKEN = (
    "eyJhbGciOiJFZERTQSIsImtpZCI6Im1ra18wMUpEWFhYIiwidHlwIjoiSldUIn0."
    + "eyJzdWIiOiJyc3ZfMDFKRDAwMDAwMDAwMDAwMDAwMDAwMDAwIiwiZG9vcnMiOlsiZG9vci1hIl19" * 3
    + ".c2lnbmF0dXJlLW9mLXNpeHR5LWZvdXItYnl0ZXMtLS0tLS0tLS0tLS0tLS0tLS0tLS0tLS0tLS0tLS0tLQ"
)


@pytest.mark.parametrize("token", [TOKEN, "a.b.c"])
def test_qr_svg__read_back__holds_exactly_the_token(token: str, tmp_path: Path) -> None:
    svg = qr_svg(token)

    assert svg.startswith("<svg") and "<script" not in svg
    assert read_qr(svg, tmp_path) == token
