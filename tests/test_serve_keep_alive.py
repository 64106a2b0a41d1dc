"""`hallkey serve` keeps an idle client connection open longer than clients keep theirs.

uvicorn closed an idle connection after 5 s, httpx reuses one for 5 s: a client whose next
request went out as the server closed read a reset (`httpx.ReadError`, no status, nothing
logged). The server now outlasts the clients' idle expiry.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import free_port, wait_serving

IDLE_SECONDS = 6.0
"""Longer than httpx's idle expiry (5 s) and uvicorn's former keep-alive (5 s)."""


@pytest.fixture
def served(tmp_path: Path) -> Iterator[int]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HALLKEY_")}
    env["HALLKEY_SECRET_KEY"] = "keep-alive-test"
    command = [sys.executable, "-m", "hallkey.cli", "serve", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--data-dir", str(tmp_path)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_serving(process, f"http://127.0.0.1:{port}", 90)
        yield port
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def _ask(connection: socket.socket) -> bytes:
    """Sends GET /healthz on the open connection; returns the status line ('' if closed)."""
    connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = connection.recv(4096)
        if not chunk:
            return b""
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        chunk = connection.recv(4096)
        if not chunk:
            return b""
        body += chunk
    return head.split(b"\r\n", 1)[0]


def test_serve__connection_idle_longer_than_a_clients_expiry__still_answers(served: int) -> None:
    with socket.create_connection(("127.0.0.1", served), timeout=10) as connection:
        assert _ask(connection) == b"HTTP/1.1 200 OK"
        time.sleep(IDLE_SECONDS)
        try:
            again = _ask(connection)
        except ConnectionResetError:
            again = b""
        assert again == b"HTTP/1.1 200 OK"
