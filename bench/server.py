"""The bench's server: a `hallkey serve --demo` process (with `--workers N`, that many server
processes under it) on fresh databases, and what the bench reads of it from outside."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import bindparam, create_engine, text
from sqlalchemy.engine import make_url

from hallkey.core.db import normalise_url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def postgres_databases(admin_url: str | None) -> Iterator[dict[str, str]]:
    if admin_url is None:
        yield {}
        return
    admin = normalise_url(admin_url)
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    names = {ctx: f"hk_bench_{ctx}_{secrets.token_hex(3)}" for ctx in ("booking", "hub", "locks")}
    with engine.connect() as connection:
        for name in names.values():
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield {
            f"HALLKEY_{ctx.upper()}_DATABASE_URL": make_url(admin)
            .set(database=name)
            .render_as_string(hide_password=False)
            for ctx, name in names.items()
        }
    finally:
        with engine.connect() as connection:
            for name in names.values():
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@dataclass
class Server:
    """A running `hallkey serve --demo`: its address, demo.json, process and databases."""

    base: str
    demo: dict[str, Any]
    pid: int
    urls: dict[str, str]
    data_dir: Path
    workers: int = 1
    job_pids: tuple[int, ...] = ()
    """The `hallkey worker` processes beside the server (`--job-processes`)."""

    @property
    def pids(self) -> tuple[int, ...]:
        """The server's process and the job processes beside it (each with its children)."""
        return (self.pid, *self.job_pids)


@contextmanager
def server(
    env_extra: dict[str, str],
    port: int,
    workers: int = 1,
    job_processes: int = 0,
    job_nice: int = 0,
) -> Iterator[Server]:
    """Starts `hallkey serve --demo --workers N` on `port` (0: any free one) and stops it; with
    `job_processes`, the server runs no jobs and that many `hallkey worker` processes a
    context run them beside it (at `job_nice`: the kernel serves the API first)."""
    port = port or free_port()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "var"
        # ERROR: filling the resource with 2000 bookings overfills its doors (1000 codes
        # each), and the hub's expected `no_space_on_door` warnings would drown the figures.
        env = {**os.environ, **env_extra, "HALLKEY_LOG_LEVEL": "ERROR"}
        if job_processes:
            env["HALLKEY_RUN_WORKERS"] = "false"
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hallkey.cli",
                "serve",
                "--demo",
                "--port",
                str(port),
                "--data-dir",
                str(data_dir),
                "--workers",
                str(workers),
            ],
            env=env,
        )
        base = f"http://127.0.0.1:{port}"
        helpers: list[subprocess.Popen[bytes]] = []
        try:
            deadline = time.monotonic() + 180  # a loaded machine migrates slowly
            while True:
                try:
                    if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("server did not start")
                time.sleep(0.1)
            while listeners(port) < workers:  # one answered; the others may still start
                if time.monotonic() > deadline:
                    raise SystemExit(f"only {listeners(port)} of {workers} processes started")
                time.sleep(0.1)
            urls = {
                ctx: env_extra.get(
                    f"HALLKEY_{ctx.upper()}_DATABASE_URL", f"sqlite:///{data_dir / ctx}.db"
                )
                for ctx in ("booking", "hub", "locks")
            }
            demo = json.loads((data_dir / "demo.json").read_text())
            print(f"server pid {process.pid}", flush=True)
            # Started once the server has migrated and seeded the databases.
            job_env = {**env, "HALLKEY_RUN_WORKERS": "true"}
            for role in ("booking", "hub", "locks") * job_processes:
                helpers.append(_job_process(role, data_dir, job_env, job_nice))
            job_pids = tuple(helper.pid for helper in helpers)
            yield Server(base, demo, process.pid, urls, data_dir, workers, job_pids)
        finally:
            for each in (*helpers, process):
                each.terminate()
            for each in (*helpers, process):
                each.wait(timeout=60)


def _job_process(
    role: str, data_dir: Path, env: dict[str, str], nice: int
) -> subprocess.Popen[bytes]:
    command = ["-m", "hallkey.cli", "worker", "--role", role, "--data-dir", str(data_dir)]
    niced = ["nice", "-n", str(nice)] if nice else []
    return subprocess.Popen([*niced, sys.executable, *command], env=env)


def listeners(port: int) -> int:
    """Returns how many sockets listen on `port` (IPv4): one a server process."""
    rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
    local = [row.split()[1:4:2] for row in rows]  # local address, state
    return sum(
        1 for address, state in local if int(address.split(":")[1], 16) == port and state == "0A"
    )


def roomy_doors(server: Server, capacity: int) -> None:
    """Lets the demo doors hold `capacity` codes: the load figures measure speed, and the
    demo's 1000 codes a door would turn most of a long run into `no_space_on_door`."""
    engine = create_engine(normalise_url(server.urls["locks"]))
    with engine.begin() as connection:
        connection.execute(text("UPDATE locks_doors SET max_credentials = :n"), {"n": capacity})
    engine.dispose()


def cpu_seconds(*pids: int) -> float:
    """Returns the CPU time the processes `pids` and those under them have used so far (user +
    system, Linux): with `--workers N` the server processes are the children of `serve`."""
    return sum(_own_cpu_seconds(each) for pid in pids for each in process_tree(pid))


def process_tree(pid: int) -> list[int]:
    """Returns `pid` and every live process under it."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue  # gone meanwhile
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def _own_cpu_seconds(pid: int) -> float:
    """Returns the CPU time process `pid` has used so far (user + system, Linux)."""
    # The command name (field 2) may hold spaces; the fields after its ")" are fixed.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


PIPELINE_JOBS = {
    "booking": ("sync_access", "customer_email"),
    "hub": ("program_door", "deliver", "send_webhook"),
}
"""The jobs a booking sets off (recurring ones, such as the reconciler, are not counted)."""


def wait_idle(urls: dict[str, str], limit_s: float = 600.0) -> float:
    """Waits until no booking's work is left in the booking or the hub (no job of the pipeline
    waiting, no door still to program, no message queued); returns how long that took."""
    engines = {ctx: create_engine(normalise_url(urls[ctx])) for ctx in PIPELINE_JOBS}
    queries = {
        "booking": text(
            "SELECT count(*) FROM booking_jobs WHERE status = 'pending' AND kind IN :kinds"
        ).bindparams(bindparam("kinds", PIPELINE_JOBS["booking"], expanding=True)),
        "hub": text(
            "SELECT (SELECT count(*) FROM hub_grant_doors WHERE state = 'pending')"
            " + (SELECT count(*) FROM hub_deliveries WHERE state = 'queued')"
            " + (SELECT count(*) FROM hub_jobs WHERE status = 'pending' AND kind IN :kinds)"
        ).bindparams(bindparam("kinds", PIPELINE_JOBS["hub"], expanding=True)),
    }
    started = time.monotonic()
    try:
        while time.monotonic() < started + limit_s:
            left = 0
            for ctx, engine in engines.items():
                with engine.connect() as connection:
                    left += int(connection.execute(queries[ctx]).scalar_one())
            if left == 0:
                break
            time.sleep(0.5)
    finally:
        for engine in engines.values():
            engine.dispose()
    return time.monotonic() - started


def server_metrics(base: str) -> list[Metric]:
    """Returns the server's `/metrics`, parsed (with `--workers N`, all the processes'
    summed): read once for every figure taken at one moment."""
    return list(text_string_to_metric_families(httpx.get(base + "/metrics", timeout=10).text))


def database_work(metrics: list[Metric]) -> dict[tuple[str, str], float]:
    """Returns the counts of SQL statements and transactions so far, by (kind, database):
    `hallkey_db_*_total`."""
    counts: dict[tuple[str, str], float] = {}
    for family in metrics:
        kind = {"hallkey_db_statements": "statements", "hallkey_db_transactions": "tx"}.get(
            family.name
        )
        if kind is None:
            continue
        for sample in family.samples:
            if sample.name.endswith("_total"):
                counts[(kind, sample.labels["database"])] = sample.value
    return counts


def lock_holds(metrics: list[Metric]) -> dict[tuple[str, str], float]:
    """Returns the seconds SQLite's write locks were held so far, by (database, unit of work):
    a request's route, a job's kind, a claim (`hallkey_db_write_lock_held_by_unit_seconds`;
    empty on PostgreSQL, which has no such lock)."""
    held: dict[tuple[str, str], float] = {}
    for family in metrics:
        if family.name != "hallkey_db_write_lock_held_by_unit_seconds":
            continue
        for sample in family.samples:
            if sample.name.endswith("_sum"):
                held[(sample.labels["database"], sample.labels["unit"])] = sample.value
    return held


def holds_per_booking(
    before: dict[tuple[str, str], float], after: dict[tuple[str, str], float], bookings: int
) -> str:
    """Formats the write-lock time a booking cost, by database and, within it, by the units
    of work that held it the longest (the database whose lock is busiest bounds the pipeline)."""
    parts = []
    for database in sorted({database for database, _ in after}):
        units = {
            unit: (value - before.get((database, unit), 0.0)) * 1000 / bookings
            for (db, unit), value in after.items()
            if db == database
        }
        top = sorted(((ms, unit) for unit, ms in units.items() if ms >= 0.05), reverse=True)
        listed = ", ".join(f"{unit} {ms:.1f}" for ms, unit in top[:5])
        parts.append(f"{database} {sum(units.values()):.1f} ({listed})")
    return "write lock held a booking, ms: " + "; ".join(parts)


def work_per_booking(
    before: dict[tuple[str, str], float], after: dict[tuple[str, str], float], bookings: int
) -> str:
    """Formats the statements and transactions a booking cost, by database."""
    databases = sorted({database for _, database in after})
    parts = []
    for database in databases:
        statements = after.get(("statements", database), 0) - before.get(
            ("statements", database), 0
        )
        tx = after.get(("tx", database), 0) - before.get(("tx", database), 0)
        parts.append(f"{database} {statements / bookings:.1f} / {tx / bookings:.1f}")
    return "statements / transactions a booking: " + ", ".join(parts)
