"""`hallkey serve --workers N`: N server processes on one port, each serving and working.

Each process listens on a socket of its own, all bound to the same address with `SO_REUSEPORT`,
and the kernel spreads new connections over them. (uvicorn's own `--workers` shares one socket:
whichever process is idle when connections arrive accepts them all at once, up to 2048 in one
wake-up, so clients that connect together, as a balancer's pool does, all landed on one process.)
A spawned process shares nothing with the parent but the environment, so `serve` puts what it
computed there (`child_environment`) and each process builds its own contexts and web app with
`web_app_from_env`. The parent migrates the databases (and seeds the demo) before the
processes start; they do not migrate again. Every process runs its contexts' job runners: jobs
are claimed with leases (and `SKIP LOCKED` on PostgreSQL), so N processes are N times the
runners, not N times the work. SIGTERM or SIGINT stops them all; a process that dies is
replaced, unless it died starting (a broken set-up would only die again): then all stop.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

import uvicorn
from fastapi import FastAPI

from hallkey.app import build_app, build_contexts
from hallkey.core.collector import settle_after_startup
from hallkey.core.logs import configure_logging
from hallkey.core.memory import limit_malloc_arenas
from hallkey.core.metrics import shared_between_processes
from hallkey.core.settings import (
    CONTEXT_NAMES,
    DEFAULT_SHUTDOWN_GRACE_SECONDS,
    ContextName,
    Settings,
)

log = logging.getLogger("hallkey.processes")

STOP_SLACK_SECONDS = 60
"""After the grace, how long a server process has to stop its workers (each finishes the jobs
it started) and close its databases before it is killed."""

STARTUP_FAILURE = 3
"""The exit code of a process that could not start (its socket, its app or the app's startup:
uvicorn's own code for the last)."""

ROLE_ENV = "HALLKEY_SERVE_ROLE"
"""The one context the processes serve (`serve --role`); empty: all three."""


def child_environment(settings: Settings, role: str | None) -> dict[str, str]:
    """Returns the variables that give the spawned processes the settings `serve` computed
    from its options (the data folder and the public base URL) and its role."""
    return {
        "HALLKEY_DATA_DIR": str(settings.data_dir.resolve()),
        "HALLKEY_BASE_URL": settings.base_url,
        ROLE_ENV: role or "",
    }


def roles_from_env() -> tuple[ContextName, ...]:
    """Returns the contexts named by `HALLKEY_SERVE_ROLE` (all three when it is empty)."""
    value = os.environ.get(ROLE_ENV, "")
    if not value:
        return CONTEXT_NAMES
    for name in CONTEXT_NAMES:
        if value == name:
            return (name,)
    raise ValueError(f"{ROLE_ENV} must be one of {', '.join(CONTEXT_NAMES)} or empty")


def web_app_from_env() -> FastAPI:
    """Builds one server process's contexts and web app from the environment."""
    limit_malloc_arenas()  # before this process's threads, as `serve` does for its own
    settings = Settings()
    configure_logging(settings.log_level)
    contexts = build_contexts(settings, roles=roles_from_env(), migrate=False)
    web = build_app(contexts, run_workers=settings.run_workers)
    settle_after_startup()
    return web


def listening_socket(host: str, port: int) -> socket.socket:
    """Returns a socket bound to (host, port) that other sockets may bind to as well
    (`SO_REUSEPORT`); the kernel balances connections over those that listen.

    The socket names its protocol, TCP: asyncio turns Nagle's algorithm off (`TCP_NODELAY`)
    only on connections whose socket says so. With protocol 0 every answer sent in two writes
    (headers, then body) waited for the client's delayed ACK: 40 ms on each request.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def _serve_one(host: str, port: int, options: dict[str, Any]) -> None:
    """Runs in each spawned process: serves the app from the environment on its own socket."""
    try:
        sock = listening_socket(host, port)
        web = web_app_from_env()
    except Exception:
        # Told to the parent by the exit code: it stops them all rather than start another.
        log.exception("a server process could not start")
        sys.exit(STARTUP_FAILURE)
    uvicorn.Server(uvicorn.Config(web, host=host, port=port, **options)).run(sockets=[sock])


def run_processes(count: int, host: str, port: int, options: dict[str, Any]) -> int:
    """Serves on (host, port) from `count` processes until SIGTERM or SIGINT; returns the exit
    code (1 when a process could not start). `options` are uvicorn's, for every process."""
    if sys.platform != "linux":
        raise OSError("--workers needs Linux (SO_REUSEPORT balancing)")
    # Bound, never listening: the port is known taken before any process starts, and held.
    # The processes add up their metrics in a folder of their own (core.metrics).
    with listening_socket(host, port) as held, shared_between_processes():
        port = held.getsockname()[1]
        spawn = multiprocessing.get_context("spawn")
        stop = threading.Event()

        def start() -> BaseProcess:
            process = spawn.Process(target=_serve_one, args=(host, port, options))
            process.start()
            return process

        def _stop(signum: int, _frame: FrameType | None) -> None:
            stop.set()

        previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        processes = [start() for _ in range(count)]
        log.info("serving on %s:%d from %d processes", host, port, count)
        code = 0
        try:
            while not stop.wait(0.5):
                for index, process in enumerate(processes):
                    if process.exitcode is None:
                        continue
                    if process.exitcode == STARTUP_FAILURE:
                        log.error("a server process could not start: stopping")
                        stop.set()
                        code = 1
                        break
                    log.warning("server process exited (%s): starting another", process.exitcode)
                    processes[index] = start()
        finally:
            grace = options.get("timeout_graceful_shutdown") or DEFAULT_SHUTDOWN_GRACE_SECONDS
            stop_processes(processes, grace + STOP_SLACK_SECONDS)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return code


def stop_processes(processes: list[BaseProcess], within_seconds: float) -> list[int]:
    """Asks the processes to stop (SIGTERM: uvicorn finishes its requests, the workers their
    jobs, then each exits) and kills any still running after `within_seconds`, with an error
    in the log: a stop that hangs must not hold a deploy. Returns the pids it had to kill."""
    for process in processes:
        if process.exitcode is None:
            process.terminate()
    deadline = time.monotonic() + within_seconds
    killed: list[int] = []
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.exitcode is None and process.pid is not None:
            log.error(
                "server process %d did not stop within %.0f s of SIGTERM: killed",
                process.pid,
                within_seconds,
            )
            process.kill()
            process.join()
            killed.append(process.pid)
    return killed
