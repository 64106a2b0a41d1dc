"""Measures a month's availability of one resource that holds 100,000 reservations, with every
booking rule on (opening hours, closed dates, public holidays, slot grid, lead time, buffer,
horizon), through the HTTP API of a booking context in this process.

    python -m bench.availability [--reservations N] [--postgres ADMIN_URL] [--repeat N]

The reservations are written straight into the database (a booking through the API would take
the whole run); then `GET /api/v1/resources/{id}/availability` is timed for a month near now,
a month near the horizon, and `POST /api/v1/reservations` for a taken and a free time.
Prints figures and the query plans of the two index reads; asserts nothing.
"""

from __future__ import annotations

import argparse
import secrets
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

from bench.__main__ import _report, _timed
from hallkey.booking import (
    build_part,
    create_context,
    create_resource,
    create_tenant,
    create_venue,
    issue_api_token,
)
from hallkey.booking.models import Customer, Reservation
from hallkey.core.clock import SystemClock
from hallkey.core.db import normalise_url
from hallkey.core.settings import Settings
from hallkey.core.web import create_app

WEEKDAY_HOURS = {day: [["07:00", "23:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat")}
OSLO = ZoneInfo("Europe/Oslo")
SLOT = timedelta(hours=2)  # a one-hour booking every two hours, around the clock


@contextmanager
def _database(admin_url: str | None, folder: Path) -> Iterator[str]:
    if admin_url is None:
        yield f"sqlite:///{folder / 'booking.db'}"
        return
    admin = create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
    name = f"hk_bench_rules_{secrets.token_hex(3)}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(normalise_url(admin_url)).set(database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _fill(ctx: Any, resource_id: str, tenant_id: str, count: int, first: datetime) -> None:
    """Writes `count` confirmed one-hour reservations, one every two hours from `first`."""
    now = datetime.now(UTC)
    with ctx.database.transaction() as session:
        session.execute(
            insert(Customer),
            [{"id": "cus_bench", "tenant_id": tenant_id, "created_at": now, "updated_at": now}],
        )
    batch = 10_000
    for offset in range(0, count, batch):
        rows = []
        for n in range(offset, min(count, offset + batch)):
            start = first + n * SLOT
            rows.append(
                {
                    "id": f"bkg_bench{n:07d}",
                    "tenant_id": tenant_id,
                    "resource_id": resource_id,
                    "customer_id": "cus_bench",
                    "ref": f"rsv_bench{n:07d}",
                    # Every tenth cancelled: the index reads skip what does not hold time.
                    "status": "cancelled" if n % 10 == 9 else "confirmed",
                    "start_at": start,
                    "end_at": start + timedelta(hours=1),
                    "block_end_at": start + timedelta(minutes=90),
                    "version": 1,
                    "access_state": "granted",
                    "access_credential": "pin",
                    "created_at": now,
                    "updated_at": now,
                }
            )
        with ctx.database.transaction() as session:
            session.execute(insert(Reservation), rows)
    # Statistics, as autovacuum (PostgreSQL) would gather them after such a load: without them
    # the planner guesses one row per resource and may scan them all.
    with ctx.database.engine.begin() as connection:
        connection.execute(text("ANALYZE booking_reservations"))


def _plans(ctx: Any, resource_id: str, moment: datetime) -> None:
    """Prints how the database answers the two reads of `repository.overlapping`."""
    sqlite = ctx.database.engine.dialect.name == "sqlite"
    explain = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
    holding = "SELECT id FROM booking_reservations WHERE resource_id = :r AND status IN "
    holding += "('requested', 'confirmed') AND "
    queries = {
        "last one before": holding + "start_at < :t ORDER BY start_at DESC LIMIT 1",
        "those inside": holding + "start_at >= :t AND start_at < :u ORDER BY start_at",
    }
    params = {"r": resource_id, "t": moment, "u": moment + timedelta(days=31)}
    with ctx.database.engine.connect() as connection:
        for label, query in queries.items():
            rows = connection.execute(text(explain + query), params).all()
            plan = "; ".join(str(row[-1]) for row in rows)
            print(f"  plan, {label}: {plan}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.availability", description=__doc__)
    parser.add_argument("--reservations", type=int, default=100_000)
    parser.add_argument("--postgres", metavar="URL", help="admin URL of a PostgreSQL server")
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, _database(args.postgres, Path(tmp)) as url:
        settings = Settings(data_dir=Path(tmp), booking_database_url=url, secret_key="bench")  # noqa: S106
        ctx = create_context(settings, SystemClock())
        now = datetime.now(UTC)
        closed = now + timedelta(days=10)
        with ctx.database.transaction() as session:
            tenant_id = create_tenant(
                ctx, session, name="Bench", slug="bench", hub_url="http://127.0.0.1:9",
                hub_api_key="hkh_bench.secret",
            )  # fmt: skip
            venue_id = create_venue(ctx, session, tenant_id=tenant_id, name="Benchhallen")
            resource_id = create_resource(
                ctx,
                session,
                venue_id=venue_id,
                name="Hall",
                door_ids=["dor_bench"],
                opening_hours=WEEKDAY_HOURS,
                closed_periods=[{"from": closed.date(), "to": (closed + timedelta(days=2)).date()}],
                public_holidays_closed=True,
                slot_minutes=30,
                lead_minutes=60,
                buffer_minutes=30,
                max_booking_minutes=4 * 60,
                horizon_days=3650,
            )  # fmt: skip
            token = issue_api_token(ctx, session, tenant_id=tenant_id, name="b", scopes=["staff"])
        # Half the reservations in the past, half ahead: the month asked for lies among them.
        first = now.replace(minute=0, second=0, microsecond=0) - (args.reservations // 2) * SLOT
        started = time.perf_counter()
        _fill(ctx, resource_id, tenant_id, args.reservations, first)
        backend = "PostgreSQL" if args.postgres else "SQLite"
        print(
            f"{args.reservations} reservations on one resource ({backend}), written in "
            f"{time.perf_counter() - started:.1f} s"
        )
        client = TestClient(create_app([build_part(ctx)], run_workers=False))
        headers = {"Authorization": f"Bearer {token}"}
        url_path = f"/api/v1/resources/{resource_id}/availability"
        for label, month_start in (
            ("this month", now),
            ("a month 9 years ahead", now + timedelta(days=9 * 365)),
        ):
            params = {"from": _iso(month_start), "to": _iso(month_start + timedelta(days=31))}
            answer = client.get(url_path, params=params).json()

            def ask(query: dict[str, str] = params) -> Any:
                return client.get(url_path, params=query)

            _report(
                f"GET availability, 31 days, {label} ({len(answer['busy'])} busy,"
                f" {len(answer['free'])} free)",
                _timed(ask, args.repeat),
            )
        # A booked time inside the opening hours, a few days ahead: every rule is kept and
        # the conflict check (the two index reads) answers 409.
        taken_at = first + (args.reservations // 2 + 24) * SLOT
        while not 9 <= taken_at.astimezone(OSLO).hour <= 20 or taken_at.weekday() > 4:
            taken_at += SLOT
        body = {
            "resource_id": resource_id,
            "start": _iso(taken_at),
            "end": _iso(taken_at + timedelta(minutes=30)),
            "customer": {"name": "Bench Mark", "phone": "+4791234567", "email": "b@example.org"},
        }
        taken = client.post("/api/v1/reservations", json=body, headers=headers)
        _report(
            f"POST reservation, rules kept, time taken → {taken.status_code}",
            _timed(lambda: client.post("/api/v1/reservations", json=body, headers=headers), 20),
        )
        _plans(ctx, resource_id, now)
        ctx.close()


if __name__ == "__main__":
    main()
