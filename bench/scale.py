"""Scale-out figure (`python -m bench --only scale [--postgres URL]`): one combined process
against `hallkey serve --workers 2` and `--workers 4`, each on fresh databases (SQLite files,
or PostgreSQL).

For each: the API (creates/s and p50/p99 latency at 8 and 32 clients, the pipeline caught up
after each row) and the pipeline (a burst at 32 clients for `--burst-seconds`, then its drain:
every door programmed and every message sent), with CPU ms per booking summed over every server
process. One table compares them at the end.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bench import load
from bench.server import cpu_seconds, postgres_databases, roomy_doors, server, wait_idle

WORKERS = (1, 2, 4)
API_CLIENTS = (8, 32)
BURST_CLIENTS = 32


@dataclass
class Run:
    """What one server set-up (`--workers N`) achieved."""

    workers: int
    api: list[load.ApiFigure] = field(default_factory=list)
    api_cpu_ms: list[float] = field(default_factory=list)
    burst: load.PipelineFigure | None = None
    burst_seconds: float = 0.0
    burst_cpu_ms: float = 0.0

    @property
    def done_per_s(self) -> float:
        """Bookings carried all the way through (doors programmed, messages sent) a second,
        from the burst's start to its drain."""
        burst = self.burst
        if burst is None or burst.drain_s is None:
            return float("nan")
        return burst.created / (self.burst_seconds + burst.drain_s)


def measure(args: argparse.Namespace) -> None:
    """Runs both set-ups in turn and prints the comparison."""
    backend = "PostgreSQL" if args.postgres else "SQLite"
    print(
        f"Scale: `hallkey serve --workers N` on {backend}, load average {os.getloadavg()[0]:.2f}"
        " at start (a shared machine: final figures need a quiet one)",
        flush=True,
    )
    runs = [_one(args, workers) for workers in WORKERS]
    _print_table(runs)
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


def _connections(workers: int) -> dict[str, str]:
    """Each process's share of PostgreSQL's 100 connections (three contexts a process, some
    left for the bench's own reads); SQLite ignores it."""
    return {"HALLKEY_DATABASE_CONNECTIONS": str(min(30, 90 // (3 * workers)))}


def _one(args: argparse.Namespace, workers: int) -> Run:
    run = Run(workers=workers)
    with (
        postgres_databases(args.postgres) as databases,
        server({**databases, **_connections(workers)}, 0, workers) as live,
    ):
        roomy_doors(live, 1_000_000)
        first = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=2)
        slots = load.Slots(first=first)
        hub = load.HubTables(live.urls["hub"])
        try:
            for clients in API_CLIENTS:
                cpu = cpu_seconds(live.pid)
                figure = load.api_figure(live.base, live.demo, slots, clients, args.api_seconds)
                caught_up = wait_idle(live.urls)  # the next row measures the API, not the backlog
                cpu_ms = (cpu_seconds(live.pid) - cpu) * 1000 / max(1, figure.created)
                run.api.append(figure)
                run.api_cpu_ms.append(cpu_ms)
                print(
                    f"  --workers {workers}: API {clients} clients {figure.rate:.1f}/s"
                    f" p50 {figure.p50_ms:.1f} ms p99 {figure.p99_ms:.1f} ms errors"
                    f" {figure.errors}; caught up after {caught_up:.1f} s, {cpu_ms:.0f} CPU ms",
                    flush=True,
                )
            cpu = cpu_seconds(live.pid)
            run.burst_seconds = args.burst_seconds
            run.burst = load.pipeline_figure(
                f"burst {BURST_CLIENTS} clients",
                live.base,
                live.demo,
                slots,
                hub,
                clients=BURST_CLIENTS,
                seconds=args.burst_seconds,
                rate=None,
            )
            run.burst_cpu_ms = (cpu_seconds(live.pid) - cpu) * 1000 / max(1, run.burst.created)
            burst = run.burst
            drained = "never" if burst.drain_s is None else f"{burst.drain_s:.1f} s"
            print(
                f"  --workers {workers}: burst {burst.created} created ({burst.rate:.1f}/s),"
                f" door programmed p50 {burst.p50_s:.2f} s p95 {burst.p95_s:.2f} s, drained"
                f" after {drained}, {run.burst_cpu_ms:.0f} CPU ms a booking",
                flush=True,
            )
        finally:
            hub.dispose()
    return run


def _print_table(runs: list[Run]) -> None:
    header = "".join(f"{f'--workers {run.workers}':>14}" for run in runs)
    print(f"\n{'':<40}{header}")

    def row(label: str, values: list[str]) -> None:
        print(f"{label:<40}" + "".join(f"{value:>14}" for value in values))

    for index, clients in enumerate(API_CLIENTS):
        row(f"API {clients} clients: creates/s", [f"{r.api[index].rate:.1f}" for r in runs])
        row(
            f"API {clients} clients: p50 / p99 ms",
            [f"{r.api[index].p50_ms:.0f} / {r.api[index].p99_ms:.0f}" for r in runs],
        )
        row(f"API {clients} clients: errors", [r.api[index].errors for r in runs])
        row(
            f"API {clients} clients: CPU ms a booking", [f"{r.api_cpu_ms[index]:.0f}" for r in runs]
        )
    bursts = [r.burst for r in runs if r.burst is not None]
    if len(bursts) != len(runs):
        return
    label = f"burst {BURST_CLIENTS} clients"
    row(f"{label}: created/s", [f"{b.rate:.1f}" for b in bursts])
    row(
        f"{label}: drained after s",
        ["never" if b.drain_s is None else f"{b.drain_s:.1f}" for b in bursts],
    )
    row(f"{label}: done/s (to drained)", [f"{r.done_per_s:.1f}" for r in runs])
    row(f"{label}: CPU ms a booking", [f"{r.burst_cpu_ms:.0f}" for r in runs])
