"""The keypad decision with many stored credentials: 1k, 100k and 1M codes on a door.

Each level fills one door of the demo with `n` credentials (written straight into the locks
database in bulk: a million PUTs would take an hour and measure the PUT), then programs one real
code over the API and times the decision on it twice: in the process (the service function in
a transaction of its own, as the route runs it) and over HTTP (`POST .../keypad`, throttled to
60 a minute a door, so fewer samples). The filler rows have random digests and live windows,
as other bookings' codes would; the lookup must stay flat because it is an index seek on
(door, digest), not a scan.
"""

from __future__ import annotations

import secrets
import statistics
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, create_engine, func, insert, select, update

from bench.load import percentile, timed
from hallkey.core.clock import SystemClock
from hallkey.core.db import normalise_url
from hallkey.core.settings import Settings
from hallkey.locks import context as locks_context
from hallkey.locks import keypad as locks_keypad
from hallkey.locks import service as locks_service
from hallkey.locks.models import Credential, CredentialWindow, Door

LEVELS = (1_000, 100_000, 1_000_000)
BATCH = 20_000


@dataclass
class KeypadFigure:
    """The decision's latency at one number of stored credentials on the door."""

    stored: int
    in_process_ms: list[float]
    http_ms: list[float]
    http_statuses: set[int]


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _filler(door_id: str, start: int, count: int, now: datetime) -> Iterator[list[dict[str, Any]]]:
    """Yields batches of credential rows (and, per row, its window) for the door."""
    batch: list[dict[str, Any]] = []
    for n in range(start, start + count):
        batch.append(
            {
                "id": f"crd_bench_{door_id[:12]}_{n:07d}",
                "door_id": door_id,
                "ref": f"rsv_bench{n:07d}",
                "type": "pin",
                "code_digest": secrets.token_hex(32),
                "revoked": False,
                "version": 1,
                "updated_at": now,
            }
        )
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def fill_door(engine: Engine, door_id: str, total: int) -> int:
    """Adds filler credentials until the door holds `total`; returns how many it holds."""
    now = datetime.now(UTC)
    with engine.begin() as connection:
        held = int(
            connection.execute(
                select(func.count()).select_from(Credential).where(Credential.door_id == door_id)
            ).scalar_one()
        )
        connection.execute(update(Door).where(Door.id == door_id).values(max_credentials=10**8))
    for batch in _filler(door_id, held, max(0, total - held), now):
        with engine.begin() as connection:
            connection.execute(insert(Credential), batch)
            connection.execute(
                insert(CredentialWindow),
                [
                    {
                        "credential_id": row["id"],
                        # Spread over the next year, an hour each: live, as bookings' codes are.
                        "valid_from_at": now + timedelta(hours=n % 8760),
                        "valid_to_at": now + timedelta(hours=n % 8760 + 1),
                    }
                    for n, row in enumerate(batch)
                ],
            )
    return max(held, total)


def measure(
    base: str,
    demo: dict[str, Any],
    locks_url: str,
    data_dir: Path,
    *,
    levels: tuple[int, ...] = LEVELS,
    in_process_repeat: int = 300,
    http_repeat: int = 40,
    report: Callable[[KeypadFigure], None] = lambda figure: None,
) -> list[KeypadFigure]:
    """Fills a door per level and times the decision on a real code at that door."""
    engine = create_engine(normalise_url(locks_url))
    settings = Settings(data_dir=data_dir, locks_database_url=locks_url, log_level="ERROR")
    ctx = locks_context.create_context(settings, SystemClock(), migrate=False)
    controller_key = demo["locks_api_key"]
    http = httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {controller_key}"}, timeout=60
    )
    doors = [door["id"] for door in demo["doors"]]
    figures = []
    try:
        with ctx.database.read() as session:
            controller_id = locks_service.authenticate(session, controller_key)
        for level, door in zip(levels, doors, strict=False):
            # The real code first, on the empty door: a PUT counts the door's live codes
            # against its capacity, which at a million codes is the PUT's cost, not the
            # keypad's.
            code = f"{secrets.randbelow(10**8):08d}"
            now = datetime.now(UTC)
            put = http.put(
                f"/locks/v1/doors/{door}/credentials/rsv_benchkeypad",
                json={
                    "type": "pin",
                    "code": code,
                    "windows": [
                        {
                            "valid_from": _iso(now - timedelta(hours=1)),
                            "valid_to": _iso(now + timedelta(days=1)),
                        }
                    ],
                },
            )
            put.raise_for_status()
            stored = fill_door(engine, door, level)

            def in_process(door_id: str = door, typed: str = code) -> None:
                with ctx.database.transaction() as session:
                    out = locks_keypad.keypad(ctx, session, controller_id, door_id, typed)
                if not out.granted:
                    raise SystemExit(f"keypad bench: the code was refused ({out.reason})")

            inproc = timed(in_process, in_process_repeat)
            statuses: set[int] = set()

            def over_http(
                door_id: str = door, typed: str = code, statuses: set[int] = statuses
            ) -> None:
                response = http.post(f"/locks/v1/doors/{door_id}/keypad", json={"code": typed})
                statuses.add(response.status_code)

            over = timed(over_http, http_repeat)
            figures.append(KeypadFigure(stored, inproc, over, statuses))
            report(figures[-1])
    finally:
        http.close()
        ctx.close()
        engine.dispose()
    return figures


def print_header() -> None:
    """Prints the keypad table's title and columns."""
    print("\nKeypad: right code, by credentials stored on the door")
    print(
        f"{'stored':>10} {'in-process p50':>15} {'p95 ms':>8} {'HTTP p50':>10} {'p95 ms':>8}"
        "  HTTP statuses"
    )


def print_row(figure: KeypadFigure) -> None:
    """Prints one level: median and p95 in the process and over HTTP."""
    print(
        f"{figure.stored:>10} {statistics.median(figure.in_process_ms):>15.2f}"
        f" {percentile(figure.in_process_ms, 0.95):>8.2f}"
        f" {statistics.median(figure.http_ms):>10.2f} {percentile(figure.http_ms, 0.95):>8.2f}"
        f"  {sorted(figure.http_statuses)}",
        flush=True,
    )
