"""Door events: pushed by a site's controller, stored once, forwarded to the booking system."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import FastAPI

from hallkey.hub import set_client_events
from tests.hub.booking_standins import BOOKING_TOKEN, protocol_booking_app
from tests.hub.conftest import START, HubWorld, iso
from tests.servers import ServerThread, free_port, serving


def booking_app(received: dict[str, dict[str, Any]]) -> FastAPI:
    """A stand-in for the booking system's `POST /api/v1/access-events` (idempotent by id)
    that takes every event."""
    return protocol_booking_app(received, lambda event: None)


def _push(hub: HubWorld, events: list[Any], token: str | None = None) -> Any:
    return hub.http.post(
        "/hub/v1/controller-events",
        json={"events": events},
        headers={"Authorization": f"Bearer {token or hub.events_token}"},
    )


def _event(n: int, door: str = "door-a", **extra: Any) -> dict[str, Any]:
    event = {
        "id": f"evt_{n}",
        "door": door,
        "ref": "rsv_one",
        "kind": "access_granted",
        "reason": None,
        "at": iso(START + timedelta(minutes=n)),
    }
    event.update(extra)
    return event


def _link(hub: HubWorld, url: str) -> None:
    with hub.ctx.database.transaction() as session:
        set_client_events(
            hub.ctx, session, client_id=hub.client_id, events_url=url, events_token=BOOKING_TOKEN
        )


def test_controller_events__stored_once_and_forwarded_to_the_booking_system(
    hub: HubWorld,
) -> None:
    received: dict[str, dict[str, Any]] = {}
    with serving(booking_app(received)) as booking:
        _link(hub, f"{booking.base_url}/api/v1/access-events")
        denied = _event(2, ref=None, kind="access_denied", reason="unknown_code")
        response = _push(hub, [_event(1), denied])
        assert response.status_code == 200
        assert response.json() == {"accepted": 2, "rejected": []}
        # A retry: accepted again, no second row.
        assert _push(hub, [_event(1)]).json() == {"accepted": 1, "rejected": []}
        hub.run_jobs()

    events = hub.get("events").json()
    assert [e["kind"] for e in events] == ["access_granted", "access_denied"]
    assert events[0]["door"] == "door-a" and events[0]["door_name"] == "Hovedinngang"
    assert events[0]["at"] == iso(START + timedelta(minutes=1))
    assert [e["reason"] for e in events] == [None, "unknown_code"]
    assert sorted(received) == sorted(e["id"] for e in events)
    forwarded = received[events[0]["id"]]
    assert forwarded == {
        "id": events[0]["id"],
        "ref": "rsv_one",
        "door": "door-a",
        "door_name": "Hovedinngang",
        "kind": "access_granted",
        "reason": None,
        "at": iso(START + timedelta(minutes=1)),
    }
    door = next(d for d in hub.get("doors").json() if d["id"] == "door-a")
    assert door["online"] is True and door["last_seen"] == iso(hub.clock.now())


def test_controller_events__booking_down__retried_until_it_is_back(hub: HubWorld) -> None:
    received: dict[str, dict[str, Any]] = {}
    port = free_port()
    _link(hub, f"http://127.0.0.1:{port}/api/v1/access-events")
    _push(hub, [_event(n) for n in range(3)])
    hub.run_jobs()
    assert received == {}
    server = ServerThread(booking_app(received), port).start()
    try:
        hub.clock.advance(timedelta(minutes=10))
        hub.run_jobs()
    finally:
        server.stop()
    assert len(received) == 3


def test_controller_events__remote_door_id_is_mapped_to_the_hub_door(hub: HubWorld) -> None:
    from hallkey.hub import create_door

    with hub.ctx.database.transaction() as session:
        create_door(
            hub.ctx, session, site_id=hub.site_id, name="Bakdør", door_id="hub-back",
            remote_id="ctrl-7",
        )  # fmt: skip
    response = _push(hub, [_event(1, door="ctrl-7"), _event(2, door="ctrl-unknown")])
    assert response.status_code == 200
    assert response.json()["rejected"] == [
        {
            "index": 1,
            "id": "evt_2",
            "code": "unknown_door",
            "message": "no such door at this site",
            "field": "door",
        }
    ]
    assert [e["door"] for e in hub.get("events").json()] == ["hub-back"]


def test_controller_events__filters_and_client_isolation(hub: HubWorld) -> None:
    _push(hub, [_event(1), _event(2, door="door-b", ref="rsv_two"), _event(3)])
    assert len(hub.get("events", ref="rsv_one").json()) == 2
    assert [e["door"] for e in hub.get("events", door="door-b").json()] == ["door-b"]
    since = iso(START + timedelta(minutes=2))
    assert [e["at"] for e in hub.get("events", since=since).json()] == [
        since,
        iso(START + timedelta(minutes=3)),
    ]
    assert hub.get("events", key=hub.other_key).json() == []
    assert hub.get("events", since="2026-12-01T18:00:00").status_code == 422


def test_controller_events__wrong_token__is_401_and_nothing_stored(hub: HubWorld) -> None:
    assert _push(hub, [_event(1)], token=hub.key).status_code == 401
    assert _push(hub, [_event(1)], token="hke_00.x").status_code == 401
    assert hub.get("events").json() == []


def test_controller_events__bad_events_in_a_push__good_ones_stored_bad_ones_listed(
    hub: HubWorld,
) -> None:
    naive_time = iso(START).removesuffix("Z")
    response = _push(
        hub,
        [
            _event(1),
            _event(2, colour="red"),  # unknown field
            _event(3, ref=".."),  # not a ref
            _event(4, at=naive_time),  # no offset
            5,  # not an event at all
            _event(6, door="door-nowhere"),
            _event(7),
        ],
    )
    assert response.status_code == 200
    answer = response.json()
    assert answer["accepted"] == 2
    rejected = [(r["index"], r["id"], r["code"], r["field"]) for r in answer["rejected"]]
    assert rejected == [
        (1, "evt_2", "invalid", "colour"),
        (2, "evt_3", "invalid", "ref"),
        (3, "evt_4", "invalid", "at"),
        (4, None, "invalid", None),
        (5, "evt_6", "unknown_door", "door"),
    ]
    assert all(r["message"] for r in answer["rejected"])
    stored = hub.get("events").json()
    assert [e["at"] for e in stored] == [iso(START + timedelta(minutes=n)) for n in (1, 7)]


def test_controller_events__unknown_field_on_the_envelope__422_and_nothing_stored(
    hub: HubWorld,
) -> None:
    response = hub.http.post(
        "/hub/v1/controller-events",
        json={"events": [_event(1)], "cursor": 7},
        headers={"Authorization": f"Bearer {hub.events_token}"},
    )
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "cursor"
    assert hub.get("events").json() == []


def test_controller_events__more_than_500__422_on_events(hub: HubWorld) -> None:
    response = _push(hub, [_event(n) for n in range(501)])
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "events"
    assert hub.get("events").json() == []


def test_controller_events__empty_push__is_a_heartbeat(hub: HubWorld) -> None:
    assert _push(hub, []).json() == {"accepted": 0, "rejected": []}
    assert _push(hub, [], token="hke_00.x").status_code == 401


def test_controller_events__two_sites_use_one_event_id__both_stored_each_once(
    hub: HubWorld,
) -> None:
    from hallkey.hub import create_door, create_site

    with hub.ctx.database.transaction() as session:
        site_id, token = create_site(
            hub.ctx, session, client_id=hub.client_id, name="Nord", connector="memory", config={}
        )
        create_door(hub.ctx, session, site_id=site_id, name="Nordinngang", door_id="door-n")
    assert _push(hub, [_event(1)]).json()["accepted"] == 1
    assert _push(hub, [_event(1, door="door-n")], token=token).json()["accepted"] == 1
    assert _push(hub, [_event(1, door="door-n")], token=token).json()["accepted"] == 1  # retry
    assert sorted(e["door"] for e in hub.get("events").json()) == ["door-a", "door-n"]
