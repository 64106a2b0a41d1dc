"""Real HTTP servers on loopback for tests: an ASGI app served by uvicorn in a thread."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import httpx
import uvicorn
from starlette.types import ASGIApp


def free_port() -> int:
    """Returns a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerThread:
    """An app served on 127.0.0.1 at a fixed port; can be stopped and started again."""

    def __init__(self, app: ASGIApp, port: int | None = None) -> None:
        self.app = app
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> ServerThread:
        """Starts serving and waits until the server accepts connections."""
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            access_log=False,
            lifespan="on",
            server_header=False,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("test server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stops serving (the app's lifespan shutdown runs) and frees the port."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(15)
        self._server = None
        self._thread = None


@contextmanager
def serving(app: ASGIApp, port: int | None = None) -> Iterator[ServerThread]:
    """Serves `app` for the duration of the block."""
    server = ServerThread(app, port).start()
    try:
        yield server
    finally:
        server.stop()


def wait_for(predicate: object, timeout: float = 15.0, interval: float = 0.02) -> None:
    """Waits until `predicate()` is truthy; fails the test after `timeout` seconds."""
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


def healthy(base_url: str) -> bool:
    """Tells whether a server answers `GET /healthz` with 200 (False while it cannot)."""
    try:
        return httpx.get(base_url + "/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def wait_serving(process: subprocess.Popen[bytes], base_url: str, timeout: float) -> None:
    """Waits until the process's server is healthy; fails the test if it exits or takes
    longer than `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not healthy(base_url):
        assert process.poll() is None and time.monotonic() < deadline, "serve did not start"
        time.sleep(0.1)


def stop_processes(processes: Iterable[subprocess.Popen[bytes]]) -> None:
    """Asks each process to end, then waits for it; kills one that does not within 15 s."""
    started = list(processes)
    for process in started:
        process.terminate()
    for process in started:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
