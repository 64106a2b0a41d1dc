"""Door → booking event latency: a code typed at the keypad until the booking system shows the
door event on its reservation (locks' push → hub → the hub's webhook → booking)."""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _wait(predicate: Any, limit_s: float = 60.0) -> None:
    deadline = time.monotonic() + limit_s
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit("door event bench: timed out")
        time.sleep(0.005)


def bench_door_events(base: str, demo: dict[str, Any], repeat: int) -> list[float]:
    """Prints (and returns, in ms) the time from a granted keypad code to its event at the
    booking, `repeat` times by webhook, then as many by the forwarding job (the webhook is
    removed for that: run it last, or apply again after)."""
    booking = httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {demo['booking_api_token']}"}
    )
    hub = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {demo['hub_api_key']}"})
    locks = httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {demo['locks_api_key']}"}
    )
    resource = demo["resources"][0]
    # Now lies inside the access window (it opens 15 minutes before the start).
    start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=5)
    created = booking.post(
        "/api/v1/reservations",
        json={
            "resource_id": resource["id"],
            "start": _iso(start),
            "end": _iso(start + timedelta(minutes=60)),
            "customer": {"name": "Bench Mark", "phone": "+4791234567", "email": "b@example.org"},
        },
    ).json()
    path = f"/api/v1/reservations/{created['id']}"

    def reservation() -> Any:
        return booking.get(path).json()

    _wait(lambda: reservation()["access"]["state"] == "granted")
    _wait(
        lambda: all(
            door["state"] == "programmed"
            for door in hub.get(f"/hub/v1/grants/{created['ref']}").json()["doors"]
        )
    )
    code = reservation()["access"]["code_formatted"]

    def typed_to_shown(count: int, label: str) -> list[float]:
        samples = []
        for _ in range(count):
            seen = len(reservation()["events"])
            door = resource["doors"][seen % len(resource["doors"])]
            started = time.perf_counter()
            answer = locks.post(f"/locks/v1/doors/{door}/keypad", json={"code": code}).json()
            if not answer.get("granted"):
                raise SystemExit(f"door event bench: the code was refused ({answer})")
            _wait(lambda seen=seen: len(reservation()["events"]) > seen)
            samples.append((time.perf_counter() - started) * 1000)
        ordered = sorted(samples)
        p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
        print(
            f"{label:<58} n={len(samples):<5} median {statistics.median(samples):7.2f} ms"
            f"   p95 {p95:7.2f} ms   max {ordered[-1]:7.2f} ms"
        )
        return samples

    samples = typed_to_shown(repeat, "door → booking event, by webhook")
    webhook = hub.get("/hub/v1/webhook").json()
    print(
        f"  hub webhook: {webhook['state']}, {webhook['pending']} pending, {webhook['dead']} dead"
    )
    # For comparison: the same without the webhook, by the forwarding job (it stays the way
    # for clients without one). The server's webhook stays removed (the other figures do not
    # use it).
    hub.delete("/hub/v1/webhook")
    typed_to_shown(repeat, "door → booking event, by the forwarding job (no webhook)")
    return samples
