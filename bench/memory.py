"""Memory under many bookings: the server's RSS every `every` bookings up to `total`.

Clients post bookings on the demo's first resource (its horizon widened to ten years, so that
50,000 quarter-hour slots fit) as fast as the server takes them; the pipeline runs behind them
as it would. Every `every` bookings it prints the count, the RSS, the backlog and the load
average; at the end it waits for the pipeline to drain and prints the RSS again.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from bench import load
from hallkey.core.db import normalise_url


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
    wait_idle: Callable[[], float],
) -> None:
    """Posts `total` bookings from `clients` threads, printing the RSS every `every`."""
    resource = demo["resources"][0]["id"]
    _widen_horizon(urls["booking"], resource)
    first = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=400)
    headers = {"Authorization": f"Bearer {demo['booking_api_token']}"}
    tickets = itertools.count()
    lock = threading.Lock()
    created = 0
    failed = 0
    hub = load.HubTables(urls["hub"])
    started = time.monotonic()
    print(f"\nMemory: RSS of the server while {clients} clients book {total} times")
    print(f"{'bookings':>9} {'RSS MB':>7} {'backlog':>8} {'elapsed s':>10} {'load avg':>9}")
    print(f"{0:>9} {rss_mb(pid):>7.0f} {0:>8} {0:>10.0f} {os.getloadavg()[0]:>9.2f}", flush=True)

    def report(count: int) -> None:
        left = _backlog(hub)
        print(
            f"{count:>9} {rss_mb(pid):>7.0f} {left:>8} {time.monotonic() - started:>10.0f}"
            f" {os.getloadavg()[0]:>9.2f}",
            flush=True,
        )

    def client_loop() -> None:
        nonlocal created, failed
        with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
            while (n := next(tickets)) < total:
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
                try:
                    ok = http.post("/api/v1/reservations", json=body).status_code == 201
                except httpx.HTTPError:
                    ok = False
                with lock:
                    if ok:
                        created += 1
                    else:
                        failed += 1
                    due = ok and created % every == 0
                    count = created
                if due:
                    report(count)

    threads = [threading.Thread(target=client_loop) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    drained = wait_idle()
    print(f"created {created}, failed {failed}; pipeline drained {drained:.0f} s after the load")
    report(created)
    hub.dispose()


def _backlog(hub: load.HubTables) -> int:
    with hub.engine.connect() as connection:
        return int(
            connection.execute(
                text(
                    "SELECT (SELECT count(*) FROM hub_grant_doors WHERE state = 'pending')"
                    " + (SELECT count(*) FROM hub_deliveries WHERE state = 'queued')"
                )
            ).scalar_one()
        )


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
