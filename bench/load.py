"""Load figures: the booking API under concurrent clients, and the pipeline behind it.

The API figure is creates per second and p50/p99 latency at N concurrent clients (each a
keep-alive connection, as a load balancer or a portal would hold). The pipeline figure offers a
steady rate of bookings and reads, from the hub's own tables after the fact (so that watching
adds no load), when each door of each booking was `programmed` and each message `sent`; the
backlog is the bookings posted but not yet done (every door programmed, every message sent).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import BindParameter, Engine, bindparam, create_engine, text

from hallkey.core.db import normalise_url

# A booking is 15 minutes (the demo resource's shortest), each in a slot of its own, so that no
# two bench bookings ever conflict; 35,000 slots fit the resource's 365-day horizon.
SLOT = timedelta(minutes=15)


@dataclass
class Slots:
    """Hands out non-overlapping booking slots across every run of one server."""

    first: datetime
    _counter: Iterator[int] = field(default_factory=lambda: itertools.count())
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def next(self) -> datetime:
        """Returns the start of a slot no one has had yet."""
        with self._lock:
            return self.first + SLOT * next(self._counter)


@dataclass
class Sample:
    """One POST: when it was sent (wall clock, UTC), how long it took, what came back."""

    sent_at: datetime
    seconds: float
    status: int
    ref: str | None


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def post_load(
    base: str,
    demo: dict[str, Any],
    slots: Slots,
    *,
    clients: int,
    seconds: float,
    rate: float | None = None,
    samples: list[Sample] | None = None,
) -> list[Sample]:
    """Posts bookings from `clients` threads for `seconds`, at most `rate` a second overall;
    appends each answer to `samples` (if given) as it comes, and returns them."""
    resource = demo["resources"][0]["id"]
    headers = {"Authorization": f"Bearer {demo['booking_api_token']}"}
    samples = [] if samples is None else samples
    lock = threading.Lock()
    ticket = itertools.count()
    started = time.monotonic()
    deadline = started + seconds

    def client_loop() -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
            while True:
                if rate is not None:
                    with lock:
                        due = started + next(ticket) / rate
                    if due >= deadline:
                        return
                    time.sleep(max(0.0, due - time.monotonic()))
                elif time.monotonic() >= deadline:
                    return
                start = slots.next()
                body = {
                    "resource_id": resource,
                    "start": _iso(start),
                    "end": _iso(start + SLOT),
                    "customer": {
                        "name": "Bench Mark",
                        "phone": "+4791234567",
                        "email": "bench@example.org",
                    },
                }
                sent_at = datetime.now(UTC)
                t0 = time.perf_counter()
                try:
                    response = http.post("/api/v1/reservations", json=body)
                    status = response.status_code
                    ref = response.json().get("ref") if status == 201 else None
                except httpx.HTTPError:
                    # A dropped connection (ReadError, RemoteProtocolError): counted as 0.
                    status, ref = 0, None
                sample = Sample(sent_at, time.perf_counter() - t0, status, ref)
                with lock:
                    samples.append(sample)

    threads = [threading.Thread(target=client_loop) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return samples


def timed(action: Callable[[], object], repeat: int) -> list[float]:
    """Runs `action` `repeat` times; returns each run's milliseconds."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def percentile(values: list[float], fraction: float) -> float:
    """Returns the value below which `fraction` of `values` lie (nearest rank)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


@dataclass
class ApiFigure:
    """Creates per second and latency at one number of clients."""

    clients: int
    created: int
    rate: float
    p50_ms: float
    p99_ms: float
    errors: str
    """Other answers than 201, by status (`0`: the connection failed, e.g. `ReadError`)."""


def api_figure(
    base: str, demo: dict[str, Any], slots: Slots, clients: int, seconds: float
) -> ApiFigure:
    """Measures the create endpoint at `clients` concurrent clients for `seconds`."""
    samples = post_load(base, demo, slots, clients=clients, seconds=seconds)
    ok = [s.seconds * 1000 for s in samples if s.status == 201]
    return ApiFigure(
        clients=clients,
        created=len(ok),
        rate=len(ok) / seconds,
        p50_ms=percentile(ok, 0.5),
        p99_ms=percentile(ok, 0.99),
        errors=" ".join(
            f"{status}:{count}"
            for status, count in sorted(
                Counter(s.status for s in samples if s.status != 201).items()
            )
        )
        or "-",
    )


class HubTables:
    """Reads the hub's tables (read-only use) to see when each booking's work was done."""

    def __init__(self, url: str) -> None:
        self.engine: Engine = create_engine(normalise_url(url))

    def open_refs(self, refs: list[str]) -> int:
        """Returns how many of `refs` are not yet done: granted, programmed and delivered."""
        done = 0
        with self.engine.connect() as connection:
            for chunk in _chunks(refs, 500):
                done += int(
                    connection.execute(
                        text(
                            "SELECT count(*) FROM hub_grants g WHERE g.ref IN :refs"
                            " AND NOT EXISTS (SELECT 1 FROM hub_grant_doors d"
                            "   WHERE d.grant_id = g.id AND d.state != 'programmed')"
                            " AND NOT EXISTS (SELECT 1 FROM hub_deliveries x"
                            "   WHERE x.grant_id = g.id AND x.state != 'sent')"
                        ).bindparams(_expanding("refs")),
                        {"refs": chunk},
                    ).scalar_one()
                )
        return len(refs) - done

    def programmed_at(self, refs: list[str]) -> dict[str, datetime]:
        """Returns, per ref whose doors are all programmed, when its last door was."""
        found: dict[str, datetime] = {}
        with self.engine.connect() as connection:
            for chunk in _chunks(refs, 500):
                rows = connection.execute(
                    text(
                        "SELECT g.ref, max(d.updated_at), min(CASE WHEN d.state = 'programmed'"
                        " THEN 1 ELSE 0 END) FROM hub_grants g JOIN hub_grant_doors d"
                        " ON d.grant_id = g.id WHERE g.ref IN :refs GROUP BY g.ref"
                    ).bindparams(_expanding("refs")),
                    {"refs": chunk},
                )
                for ref, at, all_programmed in rows:
                    if all_programmed == 1:
                        found[ref] = _utc(at)
        return found

    def dispose(self) -> None:
        """Closes the connections."""
        self.engine.dispose()


def _expanding(name: str) -> BindParameter[Any]:
    return bindparam(name, expanding=True)


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for index in range(0, len(items), size):
        yield items[index : index + size]


def _utc(value: datetime | str) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass
class PipelineFigure:
    """What a load did to the pipeline."""

    label: str
    offered: int
    created: int
    rate: float
    p50_s: float
    p95_s: float
    backlog: list[int]
    drain_s: float | None


def pipeline_figure(
    label: str,
    base: str,
    demo: dict[str, Any],
    slots: Slots,
    hub: HubTables,
    *,
    clients: int,
    seconds: float,
    rate: float | None,
    drain_limit_s: float = 300.0,
) -> PipelineFigure:
    """Offers a load, samples the backlog every few seconds, then waits for it to drain."""
    backlog: list[int] = []
    stop = threading.Event()
    collected: list[Sample] = []

    def sampler() -> None:
        # Only the bookings already answered count: the backlog is what was accepted and
        # is not yet done.
        while not stop.wait(5):
            current = [s.ref for s in list(collected) if s.ref is not None]
            backlog.append(hub.open_refs(current))

    def load() -> None:
        post_load(base, demo, slots, clients=clients, seconds=seconds, rate=rate, samples=collected)

    worker = threading.Thread(target=load)
    watcher = threading.Thread(target=sampler)
    worker.start()
    watcher.start()
    worker.join()
    stop.set()
    watcher.join()
    load_ended = time.monotonic()
    refs = [s.ref for s in collected if s.ref is not None]
    drain_s: float | None = None
    while time.monotonic() - load_ended < drain_limit_s:
        open_now = hub.open_refs(refs)
        if open_now == 0:
            drain_s = time.monotonic() - load_ended
            break
        time.sleep(0.5)
    backlog.append(hub.open_refs(refs))
    sent = {s.ref: s.sent_at for s in collected if s.ref is not None}
    done = hub.programmed_at(refs)
    waits = [(done[ref] - sent[ref]).total_seconds() for ref in refs if ref in done]
    return PipelineFigure(
        label=label,
        offered=len(collected),
        created=len(refs),
        rate=len(refs) / seconds,
        p50_s=percentile(waits, 0.5),
        p95_s=percentile(waits, 0.95),
        backlog=backlog,
        drain_s=drain_s,
    )
