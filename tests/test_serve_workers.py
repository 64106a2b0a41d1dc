"""`hallkey serve --workers N`: N server processes on one port, each serving and working.

Which process answered is not told to clients (no header names a process). The test reads it
from the operating system instead: a keep-alive connection belongs to the process that accepted
it, and every request on it is answered there.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from hallkey.processes import ROLE_ENV, listening_socket, run_processes
from tests.conftest import DatabaseUrlFactory
from tests.servers import free_port, wait_serving

pytestmark = pytest.mark.slow

HALLKEY = [sys.executable, "-m", "hallkey.cli"]


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    port: int
    demo: dict[str, Any]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _environment(database_urls: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HALLKEY_")}
    env["HALLKEY_SECRET_KEY"] = "workers-test"
    env["HALLKEY_LOG_LEVEL"] = "WARNING"
    env.update(database_urls)
    return env


@pytest.fixture
def served(tmp_path: Path, database_url: DatabaseUrlFactory) -> Iterator[Served]:
    urls = {
        f"HALLKEY_{c.upper()}_DATABASE_URL": database_url(c) for c in ("booking", "hub", "locks")
    }
    port = free_port()
    process = subprocess.Popen(
        [
            *HALLKEY,
            "serve",
            "--demo",
            "--workers",
            "2",
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path),
        ],
        env=_environment(urls),
    )
    try:
        wait_serving(process, f"http://127.0.0.1:{port}", 120)
        demo = json.loads((tmp_path / "demo.json").read_text())
        yield Served(process, port, demo)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()  # the databases are dropped next: no server may outlive it
                process.wait(timeout=10)


def _children(pid: int) -> list[int]:
    """Returns the server processes `pid` spawned (not multiprocessing's resource tracker)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
        if parent == pid and b"spawn_main" in command:
            found.append(int(entry.name))
    return sorted(found)


def _running(pid: int) -> bool:
    """Tells whether `pid` still runs (an exited one left unreaped counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _connections(port: int) -> list[tuple[int, int, int]]:
    """Returns the established loopback connections to or from `port`: (local port, remote
    port, socket inode) each, one row for each end."""
    rows = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = (int(address.split(":")[1], 16) for address in fields[1:3])
        if fields[3] == "01" and port in (local, remote):  # 01: ESTABLISHED
            rows.append((local, remote, int(fields[9])))
    return rows


def _accepted_from_here(port: int) -> set[int]:
    """Returns the server-side socket inodes of this test process's connections to `port`
    (not the contexts' calls to each other, which go to the same port)."""
    rows = _connections(port)
    mine = _sockets_of(os.getpid())
    ours = {local for local, remote, inode in rows if remote == port and inode in mine}
    return {inode for local, remote, inode in rows if local == port and remote in ours}


def _accepted_by(children: list[int], port: int) -> dict[int, int]:
    """Returns how many of this test's connections to `port` each of `children` accepted."""
    accepted = _accepted_from_here(port)
    return {pid: len(_sockets_of(pid) & accepted) for pid in children}


def _sockets_of(pid: int) -> set[int]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = str(fd.readlink())
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def _book(
    served: Served, clients: int, each: int, *, after_hours: int = 0
) -> tuple[list[httpx.Client], list[str]]:
    """Makes `clients` times `each` bookings of an hour each, `after_hours` hours after the
    first one's time and on, each client on its own kept-alive connection (the clients are
    returned open, so that their connections can be told apart)."""
    demo = served.demo
    headers = {"Authorization": f"Bearer {demo['booking_api_token']}"}
    first = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=2)
    opened = [
        httpx.Client(base_url=served.base, headers=headers, timeout=60) for _ in range(clients)
    ]
    ids: list[str] = []
    lock = threading.Lock()

    def run(index: int, http: httpx.Client) -> None:
        for n in range(each):
            start = first + timedelta(hours=after_hours + index * each + n)
            response = http.post(
                "/api/v1/reservations",
                json={
                    "resource_id": demo["resources"][0]["id"],
                    "start": start.isoformat().replace("+00:00", "Z"),
                    "end": (start + timedelta(hours=1)).isoformat().replace("+00:00", "Z"),
                    "customer": {
                        "name": "Ada Worker",
                        "phone": "+4791234567",
                        "email": "ada@example.org",
                    },
                },
            )
            assert response.status_code == 201, response.text
            with lock:
                ids.append(response.json()["id"])

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(opened)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return opened, ids


def _race_for_one_hour(served: Served, racers: int) -> list[int]:
    """Books one hour from `racers` new connections at once; returns the statuses."""
    demo = served.demo
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=30)
    body = {
        "resource_id": demo["resources"][0]["id"],
        "start": start.isoformat().replace("+00:00", "Z"),
        "end": (start + timedelta(hours=1)).isoformat().replace("+00:00", "Z"),
        "customer": {"name": "Ada Racer", "phone": "+4791234567", "email": "ada@example.org"},
    }
    headers = {"Authorization": f"Bearer {demo['booking_api_token']}"}
    go = threading.Barrier(racers)
    statuses: list[int] = []

    def race() -> None:
        with httpx.Client(base_url=served.base, headers=headers, timeout=60) as http:
            http.get("/healthz")  # connected (to one process or the other) before the start
            go.wait(30)
            statuses.append(http.post("/api/v1/reservations", json=body).status_code)

    threads = [threading.Thread(target=race) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return statuses


def _created_in_metrics(served: Served) -> float:
    """Returns the reservations created (201) as /metrics counts them, asked on a new
    connection (so of either process)."""
    text = httpx.get(f"{served.base}/metrics", timeout=30).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "hallkey_http_request_seconds_count"
        and sample.labels == {"method": "POST", "route": "/api/v1/reservations", "status": "201"}
    )


def test_serve_workers__two_processes_each_answer_and_every_booking_gets_access(
    served: Served,
) -> None:
    children = _children(served.process.pid)
    assert len(children) == 2

    clients, ids = _book(served, clients=12, each=3)
    try:
        per_child = _accepted_by(children, served.port)
        # Which process accepts a connection is the kernel's choice: under load a busy one
        # can lose every race for the twelve above. More clients, one at a time, each
        # booking once, until each process has answered (or fifty more, then it fails).
        for _ in range(50):
            if all(count > 0 for count in per_child.values()):
                break
            time.sleep(0.2)
            more, more_ids = _book(served, clients=1, each=1, after_hours=len(ids))
            clients += more
            ids += more_ids
            per_child = _accepted_by(children, served.port)
        assert sum(per_child.values()) == len(clients), per_child
        assert all(count > 0 for count in per_child.values()), per_child
        # Any process's /metrics counts the requests of both.
        assert _created_in_metrics(served) == len(ids)

        reader = clients[0]
        deadline = time.monotonic() + 60
        states: dict[str, str] = {}
        while time.monotonic() < deadline:
            states = {
                rid: reader.get(f"/api/v1/reservations/{rid}").json()["access"]["state"]
                for rid in ids
            }
            if set(states.values()) == {"granted"}:
                break
            time.sleep(0.5)
        assert len(ids) == 36 + len(clients) - 12
        assert set(states.values()) == {"granted"}, states
        # Both processes write to the same databases: of racers for one hour, one wins.
        assert sorted(_race_for_one_hour(served, racers=16)) == [201] + [409] * 15
    finally:
        for client in clients:
            client.close()

    served.process.send_signal(signal.SIGTERM)
    assert served.process.wait(timeout=60) == 0
    deadline = time.monotonic() + 10
    while any(_running(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_running(pid) for pid in children)


def test_run_processes__a_process_that_cannot_start__stops_them_all_and_returns_1(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The spawned processes read the environment: a role no context has fails each one.
    monkeypatch.setenv(ROLE_ENV, "nobody")
    monkeypatch.setenv("HALLKEY_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HALLKEY_SECRET_KEY", "workers-test")

    started = time.monotonic()
    code = run_processes(2, "127.0.0.1", free_port(), {"log_level": "critical"})

    assert code == 1
    assert time.monotonic() - started < 90  # stopped, not started again and again


def test_run_processes__on_a_port_taken__refuses_before_starting_any() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        with pytest.raises(OSError):
            run_processes(2, "127.0.0.1", port, {})


def test_listening_socket__accepted_connections__send_without_waiting_for_acks() -> None:
    """asyncio turns Nagle's algorithm off only on connections whose socket is declared TCP;
    without it each answer written in two pieces waited for the client's delayed ACK (a
    request to `serve --workers 2` took 48 ms where one process answered in 3)."""
    sock = listening_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    nodelay: list[int] = []

    async def exchange() -> None:
        async def on_connect(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            accepted = writer.get_extra_info("socket")
            nodelay.append(accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(on_connect, sock=sock)
        async with server:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            await reader.read()
            writer.close()

    # A thread of its own: another test of this process may have left an event loop running
    # in this one (asyncio.run refuses to start beside it).
    thread = threading.Thread(target=lambda: asyncio.run(exchange()))
    thread.start()
    thread.join(timeout=30)
    assert nodelay and nodelay[0] != 0
