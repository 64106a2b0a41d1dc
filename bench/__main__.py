"""Measures hallkey's hot paths and its behaviour under load (`bench.load`: the API at 1, 8 and
32 clients, the pipeline at a sustained rate and after a burst) against a real
`hallkey serve --demo` process.

Prints figures; asserts nothing. Options: `--postgres URL` runs the three contexts on fresh
PostgreSQL databases created through URL (an admin connection), `--reservations N` sets how many
bookings fill the resource before the conflict check is timed, `--credentials N` how many codes
the door holds before the keypad is timed, `--workers N` runs the server as N processes.
`--only scale` (`bench.scale`) compares one server process with `hallkey serve --workers 2`.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bench import calibration, keypad, load, memory, scale
from bench.door_events import bench_door_events
from bench.series import bench_series
from bench.server import (
    Server,
    database_work,
    holds_per_booking,
    lock_holds,
    process_tree,
    server_metrics,
    work_per_booking,
)
from bench.server import cpu_seconds as _cpu_seconds
from bench.server import postgres_databases as _postgres_databases
from bench.server import roomy_doors as _roomy_doors
from bench.server import server as _server
from bench.server import wait_idle as _wait_idle
from bench.smtp import bench_smtp


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


_timed = load.timed


def _report(label: str, samples: list[float]) -> None:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    print(
        f"{label:<58} n={len(samples):<5} median {statistics.median(samples):7.2f} ms"
        f"   p95 {p95:7.2f} ms   max {ordered[-1]:7.2f} ms"
    )


def bench_keypad(base: str, demo: dict[str, Any], credentials: int) -> None:
    """Times the door decision with `credentials` codes on the door."""
    locks = httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {demo['locks_api_key']}"}
    )
    door = demo["resources"][0]["doors"][0]
    now = datetime.now(UTC)
    codes = []
    for n in range(credentials):
        code = f"{secrets.randbelow(10**8):08d}"
        window_start = now + timedelta(hours=2 * (n % 500) - 1)
        response = locks.put(
            f"/locks/v1/doors/{door}/credentials/rsv_bench{n:06d}",
            json={
                "type": "pin",
                "code": code,
                "windows": [
                    {
                        "valid_from": _iso(window_start),
                        "valid_to": _iso(window_start + timedelta(hours=2)),
                    }
                ],
            },
        )
        if response.status_code == 200:
            codes.append(code)
    valid = codes[0]
    _report(
        f"keypad, right code ({len(codes)} codes on the door)",
        _timed(lambda: locks.post(f"/locks/v1/doors/{door}/keypad", json={"code": valid}), 200),
    )
    # Wrong codes lock the keypad out after five; time only four, on another door.
    other = demo["resources"][0]["doors"][1]
    _report(
        "keypad, unknown code",
        _timed(lambda: locks.post(f"/locks/v1/doors/{other}/keypad", json={"code": "86420"}), 4),
    )


def bench_booking(base: str, demo: dict[str, Any], reservations: int) -> None:
    """Times the conflict check and availability with `reservations` bookings on the resource."""
    api = httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {demo['booking_api_token']}"}
    )
    resource = demo["resources"][0]["id"]
    first = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    customer = {"name": "Bench Mark", "phone": "+4791234567", "email": "bench@example.org"}

    def body(slot: int) -> dict[str, Any]:
        start = first + timedelta(hours=slot)
        return {
            "resource_id": resource,
            "start": _iso(start),
            "end": _iso(start + timedelta(hours=1)),
            "customer": customer,
        }

    fill = _timed(lambda: api.post("/api/v1/reservations", json=body(next(slots))), reservations)
    _report(f"POST reservation, free slot (filling {reservations})", fill)
    taken = iter(range(reservations))
    _report(
        f"POST reservation, taken slot → 409 ({reservations} on the resource)",
        _timed(lambda: api.post("/api/v1/reservations", json=body(next(taken))), 200),
    )
    month_from, month_to = _iso(first), _iso(first + timedelta(days=31))
    _report(
        "GET availability, 31 days",
        _timed(
            lambda: api.get(
                f"/api/v1/resources/{resource}/availability",
                params={"from": month_from, "to": month_to},
            ),
            100,
        ),
    )


slots = iter(range(10**9))


def bench_end_to_end(base: str, demo: dict[str, Any], repeat: int) -> None:
    """Times POST reservation → access granted, as the customer would wait for it."""
    api = httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {demo['booking_api_token']}"}
    )
    resource = demo["resources"][0]["id"]
    # Clear of bench_booking's slots, and inside the resource's horizon (365 days by default).
    first = datetime.now(UTC) + timedelta(days=300)
    samples = []
    for n in range(repeat):
        start = first + timedelta(hours=2 * n)
        started = time.perf_counter()
        created = api.post(
            "/api/v1/reservations",
            json={
                "resource_id": resource,
                "start": _iso(start),
                "end": _iso(start + timedelta(hours=1)),
                "customer": {
                    "name": "Bench Mark",
                    "phone": "+4791234567",
                    "email": "b@example.org",
                },
            },
        )
        rid = created.json()["id"]
        while api.get(f"/api/v1/reservations/{rid}").json()["access"]["state"] != "granted":
            time.sleep(0.005)
        samples.append((time.perf_counter() - started) * 1000)
    _report("POST reservation → access granted (combined process)", samples)


_rss_mb = memory.rss_mb


def bench_api(server: Server, args: argparse.Namespace, slots: load.Slots) -> None:
    """Prints the API table: creates/s and latency at 1, 8 and 32 clients."""
    print(f"\nAPI: POST /api/v1/reservations, {args.api_seconds:.0f} s per row")
    print(
        f"{'clients':>8} {'creates/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'errors':>8}"
        "  pipeline caught up after, CPU ms a booking (all work)"
    )
    for clients in (1, 8, 32):
        cpu = _cpu_seconds(*server.pids)
        figure = load.api_figure(server.base, server.demo, slots, clients, args.api_seconds)
        # Let the pipeline catch up, so that the next row measures the API, not the backlog.
        caught_up = _wait_idle(server.urls)
        cpu_ms = (_cpu_seconds(*server.pids) - cpu) * 1000 / max(1, figure.created)
        print(
            f"{figure.clients:>8} {figure.rate:>10.1f} {figure.p50_ms:>8.1f}"
            f" {figure.p99_ms:>8.1f} {figure.errors:>8}  {caught_up:.1f} s, {cpu_ms:.0f} ms",
            flush=True,
        )


def bench_pipeline(server: Server, args: argparse.Namespace, slots: load.Slots) -> None:
    """Prints the pipeline table: a sustained rate, then a burst, each until drained."""
    hub = load.HubTables(server.urls["hub"])
    runs = [
        ("sustained", 8, args.pipeline_seconds, args.rate),
        ("burst", 32, args.burst_seconds, None),
    ]
    print("\nPipeline: POST → every door programmed and every message sent")
    print(
        f"{'load':>22} {'created':>8} {'per s':>6} {'p50 s':>6} {'p95 s':>6}"
        f" {'drained after':>14} {'CPU ms/bkg':>10}  backlog every 5 s"
    )
    for label, clients, seconds, rate in runs:
        cpu = _cpu_seconds(*server.pids)
        metrics = server_metrics(server.base)
        work, holds = database_work(metrics), lock_holds(metrics)
        name = f"{label} {rate or 'max'}/s {seconds:.0f}s"
        outcome = load.pipeline_figure(
            name, server.base, server.demo, slots, hub, clients=clients, seconds=seconds, rate=rate
        )
        drained = "never" if outcome.drain_s is None else f"{outcome.drain_s:.1f} s"
        cpu_ms = (_cpu_seconds(*server.pids) - cpu) * 1000 / max(1, outcome.created)
        print(
            f"{outcome.label:>22} {outcome.created:>8} {outcome.rate:>6.1f} {outcome.p50_s:>6.2f}"
            f" {outcome.p95_s:>6.2f} {drained:>14} {cpu_ms:>10.0f}  {outcome.backlog}",
            flush=True,
        )
        _wait_idle(server.urls)  # the last webhooks and emails: counted with their bookings
        metrics = server_metrics(server.base)  # of all the server's processes (core.metrics)
        after = database_work(metrics)
        scope = " (the server's processes only)" if server.job_pids else ""
        print(
            f"{'':>22} {work_per_booking(work, after, max(1, outcome.created))}{scope}",
            flush=True,
        )
        held = lock_holds(metrics)
        if held:  # SQLite
            print(f"{'':>22} {holds_per_booking(holds, held, max(1, outcome.created))}")
    hub.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--postgres", metavar="URL", help="admin URL of a PostgreSQL server")
    parser.add_argument("--reservations", type=int, default=2000)
    parser.add_argument("--credentials", type=int, default=1000)
    parser.add_argument(
        "--only",
        choices=(
            "hot",
            "door",
            "load",
            "api",
            "pipeline",
            "smtp",
            "keypad",
            "series",
            "memory",
            "scale",
        ),
        help="run only the hot paths, the door → booking event latency, the load figures (api "
        "and pipeline), one of those, the emails a second through an SMTP server, the keypad "
        "decision at 1k, 100k and 1M stored codes, a 40-occurrence series (one grant), the "
        "server's RSS over --bookings bookings, or `serve --workers 1` against `--workers 2`",
    )
    parser.add_argument(
        "--keypad-max", type=int, default=1_000_000, help="the largest keypad level to fill"
    )
    parser.add_argument("--port", type=int, default=0, help="the server's port (default: any)")
    parser.add_argument(
        "--workers", type=int, default=1, help="server processes (`hallkey serve --workers N`)"
    )
    parser.add_argument(
        "--job-processes",
        type=int,
        default=0,
        help="run the jobs in N `hallkey worker` processes a context, not in the server",
    )
    parser.add_argument(
        "--job-nice", type=int, default=0, help="the job processes' niceness (the API first)"
    )
    parser.add_argument("--api-seconds", type=float, default=10.0)
    parser.add_argument("--pipeline-seconds", type=float, default=60.0)
    parser.add_argument("--burst-seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=50.0, help="sustained bookings a second")
    parser.add_argument("--bookings", type=int, default=50_000, help="bookings for --only memory")
    parser.add_argument("--rss-every", type=int, default=5000, help="RSS printed every N bookings")
    parser.add_argument(
        "--max-backlog",
        type=int,
        default=400,
        help="memory: clients wait while more jobs are pending (0: never wait)",
    )
    parser.add_argument(
        "--drain-limit", type=float, default=3600, help="memory: longest wait for the pipeline"
    )
    args = parser.parse_args()
    if args.only == "scale":
        scale.measure(args)  # two servers in turn, each on fresh databases
        return
    if args.only in (None, "smtp"):
        bench_smtp()  # needs no hallkey server
        if args.only == "smtp":
            return
    with _postgres_databases(args.postgres) as databases:
        env = {**databases, **(memory.SERVER_ENV if args.only == "memory" else {})}
        _run(args, env)
    if args.only is None:
        print()
        scale.measure(args)  # last: three more servers, each on fresh databases


def _jobs_note(args: argparse.Namespace) -> str:
    if not args.job_processes:
        return ""
    nice = f" at nice {args.job_nice}" if args.job_nice else ""
    return f"; the jobs in {args.job_processes} `hallkey worker` a context{nice}"


def _run(args: argparse.Namespace, env: dict[str, str]) -> None:
    with _server(env, args.port, args.workers, args.job_processes, args.job_nice) as server:
        base, demo = server.base, server.demo
        print(
            f"hallkey benchmarks on {'PostgreSQL' if args.postgres else 'SQLite'} ({base}, "
            f"{args.workers} server process{'es' if args.workers > 1 else ''}{_jobs_note(args)})"
        )
        print(
            f"load average at start: {os.getloadavg()[0]:.2f}"
            " (a shared machine: final figures need a quiet one)"
        )
        print(calibration.machine_speed())
        if args.only in (None, "hot", "door"):
            bench_door_events(base, demo, 30)
        if args.only is None or args.only == "hot":
            bench_end_to_end(base, demo, 30)
            bench_keypad(base, demo, args.credentials)
            bench_booking(base, demo, args.reservations)
        if args.only in (None, "series"):
            bench_series(base, demo)
        if args.only in (None, "keypad"):
            levels = tuple(n for n in keypad.LEVELS if n <= args.keypad_max)
            keypad.print_header()
            keypad.measure(
                base,
                demo,
                server.urls["locks"],
                server.data_dir,
                levels=levels,
                report=keypad.print_row,
            )
        if args.only == "memory":
            _roomy_doors(server, 1_000_000)
            memory.measure(
                base,
                demo,
                server.pid,
                server.urls,
                total=args.bookings,
                every=args.rss_every,
                clients=16,
                max_backlog=args.max_backlog or None,
                drain_limit_s=args.drain_limit,
            )
        elif args.only not in ("hot", "keypad", "door", "series"):
            _roomy_doors(server, 1_000_000)
            first = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=2)
            slots = load.Slots(first=first)
            if args.only in (None, "load", "api"):
                bench_api(server, args, slots)
            if args.only in (None, "load", "pipeline"):
                bench_pipeline(server, args, slots)
        each = [_rss_mb(pid) for pid in process_tree(server.pid)]
        shown = " + ".join(f"{mb:.0f}" for mb in each)
        print(
            f"server RSS at end: {shown} MB"
            + (" (serve and its processes)" if len(each) > 1 else "")
        )
        print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
