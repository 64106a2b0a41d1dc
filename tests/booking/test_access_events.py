"""Door events pushed by the hub: partial batches, ids per tenant, the events:write scope."""

from __future__ import annotations

from typing import Any

import httpx

from tests.booking.conftest import Booking, reservation_body

START = "2026-05-04T10:00:00Z"
END = "2026-05-04T12:00:00Z"


def reserve(booking: Booking, token: str | None = None, resource_id: str | None = None) -> Any:
    body = reservation_body(resource_id or booking.resource_id, START, END)
    response = booking.client.post(
        "/api/v1/reservations", json=body, headers=booking.headers(token)
    )
    assert response.status_code == 201, response.text
    return response.json()


def event(event_id: str, ref: str | None, at: str = "2026-05-04T10:05:00Z", **extra: Any) -> Any:
    body = {
        "id": event_id,
        "ref": ref,
        "door": "dor_a",
        "door_name": "Main door",
        "kind": "access_granted",
        "reason": None,
        "at": at,
    }
    body.update(extra)
    return body


def push(booking: Booking, body: Any, token: str | None = None) -> httpx.Response:
    response: httpx.Response = booking.client.post(
        "/api/v1/access-events", json=body, headers=booking.headers(token or booking.events_token)
    )
    return response


def events_of(booking: Booking, reservation_id: str, token: str | None = None) -> Any:
    got = booking.client.get(
        f"/api/v1/reservations/{reservation_id}", headers=booking.headers(token)
    )
    assert got.status_code == 200
    return got.json()["events"]


def test_access_events__pushed_twice__are_stored_once_and_shown_oldest_first(
    booking: Booking,
) -> None:
    created = reserve(booking)
    events = {
        "events": [
            event("hev_2", created["ref"], "2026-05-04T10:05:00Z"),
            event(
                "hev_1",
                created["ref"],
                "2026-05-04T10:01:00Z",
                kind="access_denied",
                reason="unknown_code",
            ),
            event("hev_3", None, "2026-05-04T10:02:00Z", kind="access_denied"),
        ]
    }
    for _ in range(2):
        pushed = push(booking, events)
        assert pushed.status_code == 200, pushed.text
        assert pushed.json() == {"accepted": 3, "rejected": []}
    assert booking.client.post("/api/v1/access-events", json=events).status_code == 401
    assert events_of(booking, created["id"]) == [
        {
            "at": "2026-05-04T10:01:00Z",
            "door": "dor_a",
            "door_name": "Main door",
            "kind": "access_denied",
            "reason": "unknown_code",
        },
        {
            "at": "2026-05-04T10:05:00Z",
            "door": "dor_a",
            "door_name": "Main door",
            "kind": "access_granted",
            "reason": None,
        },
    ]


def test_access_events__one_bad_event_in_a_batch__the_good_ones_are_stored_the_bad_listed(
    booking: Booking,
) -> None:
    created = reserve(booking)
    long_ref = "r" * 64  # the contract's refs are up to 64 characters (was refused past 40)
    batch = {
        "events": [
            event("hev_1", created["ref"]),
            event("hev_2", "..", "2026-05-04T10:06:00Z"),  # a dot-segment is no ref
            event("hev_3", long_ref, "2026-05-04T10:07:00Z"),
            event("hev_4", created["ref"], "2026-05-04T10:08:00Z", colour="red"),
            event("hev_5", created["ref"], "2026-05-04 10:09:00"),
            42,
            event("hev_7", created["ref"], "2026-05-04T10:10:00Z"),
        ]
    }
    pushed = push(booking, batch)
    assert pushed.status_code == 200, pushed.text
    result = pushed.json()
    assert result["accepted"] == 3
    rejected = {r["index"]: r for r in result["rejected"]}
    assert sorted(rejected) == [1, 3, 4, 5]
    assert rejected[1]["id"] == "hev_2" and rejected[1]["field"] == "ref"
    assert rejected[3]["id"] == "hev_4" and rejected[3]["field"] == "colour"
    assert rejected[4]["field"] == "at"
    assert rejected[5]["id"] is None and rejected[5]["field"] is None
    assert {r["code"] for r in result["rejected"]} == {"invalid"}
    assert [e["at"] for e in events_of(booking, created["id"])] == [
        "2026-05-04T10:05:00Z",
        "2026-05-04T10:10:00Z",
    ]


def test_access_events__same_event_id_from_two_tenants__both_are_stored(booking: Booking) -> None:
    mine = reserve(booking)
    theirs = reserve(booking, booking.other_token, booking.other_resource_id)
    first = push(booking, {"events": [event("hev_same", mine["ref"])]})
    second = push(
        booking,
        {"events": [event("hev_same", theirs["ref"], door="dor_x")]},
        booking.other_events_token,
    )
    assert first.json() == second.json() == {"accepted": 1, "rejected": []}
    assert [e["door"] for e in events_of(booking, mine["id"])] == ["dor_a"]
    assert [e["door"] for e in events_of(booking, theirs["id"], booking.other_token)] == ["dor_x"]


def test_access_events__bad_envelope__is_422_and_stores_nothing(booking: Booking) -> None:
    created = reserve(booking)
    good = event("hev_1", created["ref"])
    unknown_field = push(booking, {"events": [good], "source": "hub"})
    assert unknown_field.status_code == 422
    assert unknown_field.json()["error"]["field"] == "source"
    too_many = push(booking, {"events": [good] * 501})
    assert too_many.status_code == 422
    assert too_many.json()["error"]["field"] == "events"
    assert push(booking, {"events": {"id": "x"}}).status_code == 422
    assert push(booking, [good]).status_code == 422
    assert events_of(booking, created["id"]) == []
    assert push(booking, {"events": [good] * 500}).json() == {"accepted": 500, "rejected": []}
