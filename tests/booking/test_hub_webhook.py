"""The hub's webhook into the booking system: verified with the tenant's secret, taken once per
webhook-id, door events stored as /access-events stores them, grant states shown at once."""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from standardwebhooks import Webhook

from hallkey.booking.models import AccessEvent, Reservation, Tenant, WebhookReceipt
from hallkey.booking.series_models import Series
from hallkey.booking.throttles import WEBHOOK_FAILURES_PER_ADDRESS
from tests.booking.conftest import Booking
from tests.booking.test_access_events import event, reserve

SECRET = "whsec_" + "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMzQ="
OTHER_SECRET = "whsec_" + "b3RoZXItb3RoZXItb3RoZXItb3RoZXItb3RoZXItMTI="


def _set_secret(booking: Booking, slug: str = "testby", secret: str = SECRET) -> None:
    with booking.ctx.database.transaction() as session:
        tenant = session.scalars(select(Tenant).where(Tenant.slug == slug)).one()
        tenant.hub_webhook_secret_sealed = booking.ctx.box.seal(secret)


def _show_granted(booking: Booking, reservation_id: str) -> int:
    """Makes the reservation show a granted PIN (as a sync would); returns its version."""
    with booking.ctx.database.transaction() as session:
        reservation = session.get(Reservation, reservation_id)
        assert reservation is not None
        reservation.access_state = "granted"
        reservation.access_secret_sealed = booking.ctx.box.seal(json.dumps({"code": "482915"}))
        return reservation.version


def _send(
    booking: Booking,
    kind: str,
    data: dict[str, Any],
    *,
    msg_id: str = "msg_1",
    secret: str = SECRET,
    slug: str = "testby",
    tamper: bool = False,
) -> httpx.Response:
    body = json.dumps({"type": kind, "timestamp": "2026-05-04T10:05:00Z", "data": data})
    now = booking.clock.now()
    headers = {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, now, body),
    }
    sent = body.replace("Main door", "Side door") if tamper else body
    response: httpx.Response = booking.client.post(
        f"/api/v1/hub-webhook/{slug}", content=sent.encode(), headers=headers
    )
    return response


def _reservation(booking: Booking, reservation_id: str) -> Any:
    got = booking.client.get(f"/api/v1/reservations/{reservation_id}", headers=booking.headers())
    assert got.status_code == 200
    return got.json()


def _sync_jobs(booking: Booking) -> int:
    table = booking.ctx.jobs.table
    with booking.ctx.database.read() as session:
        return len(session.scalars(select(table.c.id).where(table.c.kind == "sync_access")).all())


def test_hub_webhook__signed_door_event__stored_on_its_reservation(booking: Booking) -> None:
    _set_secret(booking)
    created = reserve(booking)
    response = _send(booking, "door.event", event("hev_1", created["ref"]))
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "taken"}
    events = _reservation(booking, created["id"])["events"]
    assert [(e["door"], e["kind"]) for e in events] == [("dor_a", "access_granted")]


def test_hub_webhook__same_webhook_id_twice__taken_once(booking: Booking) -> None:
    _set_secret(booking)
    created = reserve(booking)
    assert _send(booking, "door.event", event("hev_1", created["ref"])).json()["status"] == "taken"
    again = _send(booking, "door.event", event("hev_2", created["ref"]))
    assert again.status_code == 200 and again.json() == {"status": "duplicate"}
    assert booking.count(AccessEvent) == 1


def test_hub_webhook__receipts_past_a_week__deleted_by_a_later_message(booking: Booking) -> None:
    _set_secret(booking)
    created = reserve(booking)
    _send(booking, "door.event", event("hev_1", created["ref"]), msg_id="msg_old")
    booking.clock.advance(timedelta(days=6))
    _send(booking, "door.event", event("hev_2", created["ref"]), msg_id="msg_recent")
    booking.clock.advance(timedelta(days=1, minutes=1))
    _send(booking, "door.event", event("hev_3", created["ref"]), msg_id="msg_new")

    with booking.ctx.database.read() as session:
        kept = set(session.scalars(select(WebhookReceipt.webhook_id)).all())
    assert kept == {"msg_recent", "msg_new"}
    assert booking.count(AccessEvent) == 3


def test_hub_webhook__wrong_secret__401_and_nothing_stored(booking: Booking) -> None:
    _set_secret(booking)
    created = reserve(booking)
    response = _send(booking, "door.event", event("hev_1", created["ref"]), secret=OTHER_SECRET)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "bad_signature"
    assert booking.count(AccessEvent) == 0 and booking.count(WebhookReceipt) == 0


def test_hub_webhook__forged_message__refused_without_a_write_transaction(
    booking: Booking, monkeypatch: pytest.MonkeyPatch
) -> None:
    _set_secret(booking)
    created = reserve(booking)
    writes: list[None] = []
    begin_write = booking.ctx.database.transaction

    def counted() -> AbstractContextManager[Session]:
        writes.append(None)
        return begin_write()

    monkeypatch.setattr(booking.ctx.database, "transaction", counted)
    forged = _send(booking, "door.event", event("hev_1", created["ref"]), secret=OTHER_SECRET)
    assert forged.status_code == 401 and writes == []
    # The same route takes a good message in a write transaction of its own.
    assert _send(booking, "door.event", event("hev_2", created["ref"])).status_code == 200
    assert len(writes) == 1


def test_hub_webhook__many_failures_from_an_address__429_but_a_good_message_is_taken(
    booking: Booking,
) -> None:
    _set_secret(booking)
    created = reserve(booking)
    data = event("hev_1", created["ref"])
    answers = [
        _send(booking, "door.event", data, msg_id=f"msg_{n}", secret=OTHER_SECRET).status_code
        for n in range(WEBHOOK_FAILURES_PER_ADDRESS.limit + 1)
    ]
    assert answers == [401] * WEBHOOK_FAILURES_PER_ADDRESS.limit + [429]
    throttled = _send(booking, "door.event", data, msg_id="msg_x", secret=OTHER_SECRET)
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) > 0
    taken = _send(booking, "door.event", data, msg_id="msg_good")
    assert taken.status_code == 200 and taken.json() == {"status": "taken"}
    booking.clock.advance(timedelta(seconds=WEBHOOK_FAILURES_PER_ADDRESS.per_seconds))
    again = _send(booking, "door.event", data, msg_id="msg_y", secret=OTHER_SECRET)
    assert again.status_code == 401


def test_hub_webhook__body_changed_after_signing__401(booking: Booking) -> None:
    _set_secret(booking)
    created = reserve(booking)
    response = _send(booking, "door.event", event("hev_1", created["ref"]), tamper=True)
    assert response.status_code == 401
    assert booking.count(AccessEvent) == 0


def test_hub_webhook__stale_timestamp__401_and_nothing_stored(booking: Booking) -> None:
    _set_secret(booking)
    created = reserve(booking)
    body = json.dumps({"type": "door.event", "data": event("hev_1", created["ref"])})
    signed_at = booking.clock.now()
    headers = {
        "webhook-id": "msg_old",
        "webhook-timestamp": str(int(signed_at.timestamp())),
        "webhook-signature": Webhook(SECRET).sign("msg_old", signed_at, body),
    }
    booking.clock.advance(timedelta(minutes=6))
    response = booking.client.post("/api/v1/hub-webhook/testby", content=body, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "stale_timestamp"
    assert booking.count(AccessEvent) == 0


def test_hub_webhook__missing_headers_or_no_secret__401(booking: Booking) -> None:
    response = booking.client.post("/api/v1/hub-webhook/testby", content=b"{}")
    assert response.status_code == 401
    # The tenant has no webhook secret yet: nothing can be verified.
    created = reserve(booking)
    assert _send(booking, "door.event", event("hev_1", created["ref"])).status_code == 401


def test_hub_webhook__signed_for_one_tenant__refused_at_another(booking: Booking) -> None:
    _set_secret(booking)
    _set_secret(booking, "annenby", OTHER_SECRET)
    created = reserve(booking)
    response = _send(booking, "door.event", event("hev_1", created["ref"]), slug="annenby")
    assert response.status_code == 401
    assert booking.count(AccessEvent) == 0


def test_hub_webhook__invalid_door_event__422_and_not_marked_taken(booking: Booking) -> None:
    _set_secret(booking)
    created = reserve(booking)
    bad = event("hev_1", created["ref"], kind="")
    response = _send(booking, "door.event", bad)
    assert response.status_code == 422, response.text
    assert booking.count(AccessEvent) == 0 and booking.count(WebhookReceipt) == 0


def test_hub_webhook__grant_revoked_at_the_hub__shown_revoked_at_once_and_asked_again(
    booking: Booking,
) -> None:
    _set_secret(booking)
    created = reserve(booking)
    version = _show_granted(booking, created["id"])
    jobs_before = _sync_jobs(booking)
    data = {"ref": created["ref"], "state": "revoked", "revision": version, "doors": []}
    response = _send(booking, "grant.state", data)
    assert response.status_code == 200, response.text
    access = _reservation(booking, created["id"])["access"]
    assert access["state"] == "revoked" and access.get("code") is None
    assert _sync_jobs(booking) == jobs_before + 1


def test_hub_webhook__grant_state_of_an_older_revision__changes_nothing(booking: Booking) -> None:
    _set_secret(booking)
    created = reserve(booking)
    version = _show_granted(booking, created["id"])
    data = {"ref": created["ref"], "state": "revoked", "revision": version - 1, "doors": []}
    assert _send(booking, "grant.state", data).status_code == 200
    access = _reservation(booking, created["id"])["access"]
    assert access["state"] == "granted" and access["code"] == "482915"


def test_hub_webhook__a_door_fails_then_is_programmed__error_shown_then_cleared(
    booking: Booking,
) -> None:
    _set_secret(booking)
    created = reserve(booking)
    version = _show_granted(booking, created["id"])
    failed = {
        "ref": created["ref"],
        "state": "active",
        "revision": version,
        "doors": [{"id": "dor_a", "state": "failed", "errors": []}],
    }
    assert _send(booking, "grant.state", failed, msg_id="msg_a").status_code == 200
    assert _reservation(booking, created["id"])["access"]["error"] == "door_failed"
    programmed = {**failed, "doors": [{"id": "dor_a", "state": "programmed", "errors": []}]}
    assert _send(booking, "grant.state", programmed, msg_id="msg_b").status_code == 200
    access = _reservation(booking, created["id"])["access"]
    assert access["state"] == "granted" and access.get("error") is None


def test_hub_webhook__unknown_type__acknowledged_and_ignored(booking: Booking) -> None:
    _set_secret(booking)
    response = _send(booking, "door.battery", {"door": "dor_a"})
    assert response.status_code == 200 and response.json() == {"status": "ignored"}


def test_hub_webhook__series_grant_revoked_at_the_hub__shown_on_the_series_and_asked_again(
    booking: Booking,
) -> None:
    _set_secret(booking)
    made = booking.client.post(
        "/api/v1/series",
        json={
            "resource_id": booking.resource_id,
            "weekdays": [2],
            "start_time": "18:00",
            "end_time": "20:00",
            "from_date": "2026-09-01",
            "to_date": "2026-09-29",
            "customer": {"name": "Kari", "phone": "+4741234567", "email": "kari@example.no"},
            "on_conflict": "fail",
        },
        headers=booking.headers(),
    )
    assert made.status_code == 201, made.text
    series = made.json()
    with booking.ctx.database.transaction() as session:
        row = session.get(Series, series["id"])
        assert row is not None
        row.access_state = "granted"
        row.access_secret_sealed = booking.ctx.box.seal(json.dumps({"code": "482915"}))
    table = booking.ctx.jobs.table
    kind = table.c.kind == "sync_series_access"
    with booking.ctx.database.read() as session:
        before = len(session.scalars(select(table.c.id).where(kind)).all())
    data = {"ref": series["ref"], "state": "revoked", "revision": 1, "doors": []}
    response = _send(booking, "grant.state", data)
    assert response.status_code == 200, response.text
    shown = booking.client.get(f"/api/v1/series/{series['id']}", headers=booking.headers())
    assert shown.json()["access"] == {"state": "revoked", "credential": "pin"}
    with booking.ctx.database.read() as session:
        assert len(session.scalars(select(table.c.id).where(kind)).all()) == before + 1
