"""Memory under many bookings: the server's RSS every `every` bookings up to `total`.

Clients post bookings on the demo's first resource, quarter-hour slots from two days ahead
(its horizon widened to ten years, and the server started with grants allowed that far, so
that 50,000 fit). With `max_backlog` the clients pause while more jobs than that are pending
(each booking then goes through the whole pipeline: granted, doors programmed, messages sent);
without, they book as fast as the server takes it and the pipeline follows as it can. Every
`every` bookings it prints the count, the RSS, the pending jobs and the load average; at the
end it waits (at most `drain_limit_s`) for the pipeline to drain and prints the RSS again.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, create_engine, text

from bench import load
from hallkey.core.db import normalise_url

SERVER_ENV = {"HALLKEY_HUB_MAX_GRANT_DAYS": "3660"}
"""The server's settings for this bench: grants may reach as far as the bookings."""


def rss_mb(pid: int) -> float:
    """Returns the resident memory of process `pid` in MB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _widen_horizon(booking_url: str, resource: str) -> None:
    engine = create_engine(normalise_url(booking_url))
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE booking_resources SET horizon_days = 3650 WHERE id = :id"),
            {"id": resource},
        )
    engine.dispose()


def measure(
    base: str,
    demo: dict[str, Any],
    pid: int,
    urls: dict[str, str],
    *,
    total: int,
    every: int,
    clients: int,
    max_backlog: int | None,
    drain_limit_s: float,
) -> None:
    """Posts `total` bookings from `clients` threads, printing the RSS every `every`."""
    resource = demo["resources"][0]["id"]
    _widen_horizon(urls["booking"], resource)
    first = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=2)
    headers = {"Authorization": f"Bearer {demo['booking_api_token']}"}
    tickets = itertools.count()
    lock = threading.Lock()
    created = 0
    failed: Counter[str] = Counter()
    engines = {ctx: create_engine(normalise_url(url)) for ctx, url in urls.items()}
    stop = threading.Event()
    flowing = threading.Event()
    flowing.set()

    def watch() -> None:
        # Holds the clients back while the pipeline is behind, lets them go once it caught up.
        while max_backlog is not None and not stop.wait(1):
            pending = _pending(engines)
            if pending > max_backlog:
                flowing.clear()
            elif pending < max_backlog // 2:
                flowing.set()

    recurring = _pending(engines)  # the contexts' periodic jobs, always there
    watcher = threading.Thread(target=watch)
    watcher.start()
    started = time.monotonic()
    print(f"\nMemory: RSS of the server while {clients} clients book {total} times")
    print(f"{'bookings':>9} {'RSS MB':>7} {'jobs due':>8} {'elapsed s':>10} {'load avg':>9}")
    print(f"{0:>9} {rss_mb(pid):>7.0f} {0:>8} {0:>10.0f} {os.getloadavg()[0]:>9.2f}", flush=True)

    def report(count: int) -> None:
        left = _pending(engines)
        print(
            f"{count:>9} {rss_mb(pid):>7.0f} {left:>8} {time.monotonic() - started:>10.0f}"
            f" {os.getloadavg()[0]:>9.2f}",
            flush=True,
        )

    def client_loop() -> None:
        nonlocal created
        with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
            while (n := next(tickets)) < total:
                flowing.wait()
                start = first + load.SLOT * n
                body = {
                    "resource_id": resource,
                    "start": _iso(start),
                    "end": _iso(start + load.SLOT),
                    "customer": {
                        "name": "Bench Mark",
                        "phone": "+4791234567",
                        "email": "bench@example.org",
                    },
                }
                status: int | str
                try:
                    status = http.post("/api/v1/reservations", json=body).status_code
                except httpx.HTTPError as exc:
                    status = type(exc).__name__  # a dropped connection: ReadError, …
                ok = status == 201
                with lock:
                    if ok:
                        created += 1
                    else:
                        failed[str(status)] += 1
                    due = ok and created % every == 0
                    count = created
                if due:
                    report(count)

    threads = [threading.Thread(target=client_loop) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stop.set()
    watcher.join()
    load_ended = time.monotonic()
    while _pending(engines) > recurring and time.monotonic() < load_ended + drain_limit_s:
        time.sleep(1)
    drained = time.monotonic() - load_ended
    left = _pending(engines) - recurring
    print(
        f"created {created}, failed {dict(failed) or 0}; "
        + (
            f"pipeline drained {drained:.0f} s after the load"
            if left <= 0
            else f"{left} jobs still pending {drained:.0f} s after the load"
        )
    )
    report(created)
    _print_outcome(engines)
    for engine in engines.values():
        engine.dispose()


def _print_outcome(engines: dict[str, Engine]) -> None:
    """Prints what became of the bookings: their access states (each `granted` once the hub
    confirmed its doors programmed) and the jobs that gave up in each context."""
    with engines["booking"].connect() as connection:
        rows = connection.execute(
            text("SELECT access_state, count(*) FROM booking_reservations GROUP BY 1")
        ).all()
    states = {str(state): int(count) for state, count in rows}
    dead: dict[str, int] = {}
    for ctx, engine in engines.items():
        with engine.connect() as connection:
            dead[ctx] = int(
                connection.execute(
                    text(f"SELECT count(*) FROM {ctx}_jobs WHERE status = 'dead'")  # noqa: S608
                ).scalar_one()
            )
    print(f"bookings by access state {states}; jobs given up {dead}", flush=True)


_PENDING = {
    # A booking's reminder waits for its day: not work the pipeline is behind on.
    ctx: f"SELECT count(*) FROM {ctx}_jobs WHERE status = 'pending' AND kind != 'remind'"  # noqa: S608
    for ctx in ("booking", "hub", "locks")
}


def _pending(engines: dict[str, Engine]) -> int:
    """Returns the jobs due or waiting in all three contexts (a few recurring ones always)."""
    pending = 0
    for ctx, engine in engines.items():
        with engine.connect() as connection:
            pending += int(connection.execute(text(_PENDING[ctx])).scalar_one())
    return pending


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
