"""A club's season in one request: `POST /api/v1/series` of 40 weekly occurrences, one grant.

Times the request (40 occurrences checked and stored, the push queued), then how long until
the series' access is granted (the booking shows the code) and until every door of the grant
holds it (`GET /hub/v1/grants/{ref}`: each door `programmed`), against the demo server.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

OCCURRENCES = 40


def _wait(check: Any, limit_s: float = 60.0) -> float:
    """Polls `check()` until true; returns the seconds it took (inf if it never was)."""
    started = time.perf_counter()
    while time.perf_counter() < started + limit_s:
        if check():
            return time.perf_counter() - started
        time.sleep(0.005)
    return float("inf")


def bench_series(base: str, demo: dict[str, Any], repeat: int = 5) -> None:
    """Prints one row per series: request time, until granted, until every door holds it."""
    api = httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {demo['booking_api_token']}"}
    )
    hub = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {demo['hub_api_key']}"})
    resource = demo["resources"][0]["id"]
    first = (datetime.now(UTC) + timedelta(days=8)).date()
    print(f"\nSeries: POST /api/v1/series of {OCCURRENCES} weekly occurrences (one grant)")
    print(f"{'#':>3} {'occurrences':>12} {'request ms':>11} {'granted ms':>11} {'on doors ms':>12}")
    for n in range(repeat):
        hour = 6 + 2 * n
        body = {
            "resource_id": resource,
            "weekdays": [first.isoweekday()],
            "start_time": f"{hour:02d}:00",
            "end_time": f"{hour + 1:02d}:30",
            "from_date": first.isoformat(),
            "to_date": (first + timedelta(weeks=OCCURRENCES - 1)).isoformat(),
            "customer": {"name": "Bench Klubb", "phone": "+4791234567", "email": "k@example.org"},
            "on_conflict": "fail",
        }
        started = time.perf_counter()
        made = api.post("/api/v1/series", json=body)
        request_ms = (time.perf_counter() - started) * 1000
        if made.status_code != 201:
            print(f"{n:>3} refused: {made.status_code} {made.text[:120]}")
            continue
        series = made.json()

        def granted(series_id: str = series["id"]) -> bool:
            answer = api.get(f"/api/v1/series/{series_id}").json()
            return bool(answer["access"]["state"] == "granted")

        def on_doors(ref: str = series["ref"]) -> bool:
            answer = hub.get(f"/hub/v1/grants/{ref}")
            if answer.status_code != 200:
                return False
            return all(door["state"] == "programmed" for door in answer.json()["doors"])

        granted_s = _wait(granted)
        doors_s = _wait(on_doors)
        total_granted = request_ms + granted_s * 1000
        total_doors = total_granted + doors_s * 1000
        print(
            f"{n:>3} {len(series['occurrences']):>12} {request_ms:>11.1f}"
            f" {total_granted:>11.1f} {total_doors:>12.1f}",
            flush=True,
        )
