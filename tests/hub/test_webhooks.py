"""A client's webhook: registration, SSRF refusal, signed door events and grant states over
real HTTP, retries on the schedule, dead letters and their replay by the operator."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from hallkey.hub import issue_operator_key
from hallkey.hub.models import Client, DoorEvent, WebhookMessage
from hallkey.hub.webhook_sender import next_wait
from hallkey.hub.webhook_targets import Target, pinned
from tests.hub.conftest import START, HubWorld, iso
from tests.hub.webhook_receiver import Receiver
from tests.servers import ServerThread, serving


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, ServerThread]]:
    """Returns a verifying receiver served on loopback."""
    found = Receiver()
    with serving(found.app()) as server:
        yield found, server


@pytest.fixture
def operator_key(hub: HubWorld) -> str:
    """Returns a hub operator key."""
    with hub.ctx.database.transaction() as session:
        _, key = issue_operator_key(hub.ctx, session, name="test")
    return key


def _operator(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _hook(
    hub: HubWorld, operator_key: str, receiver: tuple[Receiver, ServerThread]
) -> dict[str, Any]:
    """Sets our client's webhook to the receiver (the operator allows loopback)."""
    found, server = receiver
    response = hub.http.put(
        f"/hub/v1/operator/clients/{hub.client_id}/webhook",
        json={"url": f"{server.base_url}/hook", "allow_private": True},
        headers=_operator(operator_key),
    )
    assert response.status_code == 200, response.text
    found.secret = response.json()["secret"]
    # The receiver checks the timestamp against the wall clock: the hub's stands there.
    hub.clock.set(datetime.now(UTC))
    result: dict[str, Any] = response.json()
    return result


def _push(hub: HubWorld, *numbers: int) -> None:
    events = [
        {
            "id": f"evt_{n}",
            "door": "door-a",
            "ref": "rsv_one",
            "kind": "access_granted",
            "at": iso(START + timedelta(seconds=n)),
        }
        for n in numbers
    ]
    response = hub.http.post(
        "/hub/v1/controller-events",
        json={"events": events},
        headers={"Authorization": f"Bearer {hub.events_token}"},
    )
    assert response.status_code == 200, response.text


@dataclass(frozen=True)
class _Message:
    id: str
    state: str
    attempts: int
    last_error: str | None


def _run_settled(hub: HubWorld) -> None:
    """Runs the jobs due once a grant state message has waited for the next word on it."""
    hub.clock.advance(timedelta(seconds=hub.ctx.settings.hub_webhook_settle_seconds))
    hub.run_jobs()


def _messages(hub: HubWorld) -> list[_Message]:
    with hub.ctx.database.read() as session:
        rows = session.scalars(select(WebhookMessage).order_by(WebhookMessage.created_at))
        return [_Message(m.id, m.state, m.attempts, m.last_error) for m in rows]


def test_put_webhook__no_secret__hub_makes_one_shown_only_once(hub: HubWorld) -> None:
    body = {"url": "http://93.184.216.34/hook"}
    response = hub.http.put("/hub/v1/webhook", json=body, headers=hub.headers())
    assert response.status_code == 200, response.text
    made = response.json()
    assert made["secret"].startswith("whsec_") and made["state"] == "active"

    shown = hub.http.get("/hub/v1/webhook", headers=hub.headers()).json()
    assert shown == {
        "url": "http://93.184.216.34/hook",
        "state": "active",
        "allow_private": False,
        "pending": 0,
        "dead": 0,
    }
    # The other client sees its own (none).
    other = hub.http.get("/hub/v1/webhook", headers=hub.headers(hub.other_key)).json()
    assert other["state"] == "none"

    assert hub.http.delete("/hub/v1/webhook", headers=hub.headers()).status_code == 204
    assert hub.http.get("/hub/v1/webhook", headers=hub.headers()).json()["state"] == "none"


def test_put_webhook__secret_given__kept_sealed_at_rest(hub: HubWorld) -> None:
    secret = "whsec_" + "A" * 44
    body = {"url": "http://93.184.216.34/hook", "secret": secret}
    response = hub.http.put("/hub/v1/webhook", json=body, headers=hub.headers())
    assert response.status_code == 200 and response.json()["secret"] == secret
    with hub.ctx.database.read() as session:
        client = session.get(Client, hub.client_id)
        assert client is not None and client.webhook_secret_sealed is not None
        assert secret not in client.webhook_secret_sealed
        assert hub.ctx.box.open(client.webhook_secret_sealed) == secret


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:18700/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://224.0.0.1/hook",
        "http://0.0.0.0/hook",
    ],
)
def test_put_webhook__inside_address__422_and_nothing_set(hub: HubWorld, url: str) -> None:
    response = hub.http.put("/hub/v1/webhook", json={"url": url}, headers=hub.headers())
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == "url"
    assert response.json()["error"]["code"] == "private_address"
    assert hub.http.get("/hub/v1/webhook", headers=hub.headers()).json()["state"] == "none"


def test_put_webhook__bad_secret_or_scheme__422_naming_the_field(hub: HubWorld) -> None:
    for body, field in (
        ({"url": "ftp://93.184.216.34/hook"}, "url"),
        ({"url": "http://93.184.216.34/hook", "secret": "whsec_short"}, "secret"),
    ):
        response = hub.http.put("/hub/v1/webhook", json=body, headers=hub.headers())
        assert response.status_code == 422, response.text
        assert response.json()["error"]["field"] == field


def test_put_webhook__client_cannot_allow_private__the_operator_can(
    hub: HubWorld, operator_key: str
) -> None:
    body = {"url": "http://127.0.0.1:18701/hook", "allow_private": True}
    # `allow_private` is not a field of the client's own body.
    assert hub.http.put("/hub/v1/webhook", json=body, headers=hub.headers()).status_code == 422
    response = hub.http.put(
        f"/hub/v1/operator/clients/{hub.client_id}/webhook",
        json=body,
        headers=_operator(operator_key),
    )
    assert response.status_code == 200, response.text
    assert response.json()["allow_private"] is True


def test_door_event__posted_signed__receiver_verifies_it_and_forwarding_leaves_it(
    hub: HubWorld, operator_key: str, receiver: tuple[Receiver, ServerThread]
) -> None:
    _hook(hub, operator_key, receiver)
    _push(hub, 1)
    assert "forward_events" not in hub.queued_job_kinds()
    hub.run_jobs()
    found, _ = receiver
    assert found.unverified == 0
    assert [m["type"] for m in found.taken] == ["door.event"]
    data = found.taken[0]["data"]
    assert data["ref"] == "rsv_one" and data["door"] == "door-a"
    assert data["door_name"] == "Hovedinngang" and data["kind"] == "access_granted"
    assert [m.state for m in _messages(hub)] == ["delivered"]
    with hub.ctx.database.read() as session:
        event = session.scalars(select(DoorEvent)).one()
        assert event.forwarded_at is not None  # never also forwarded
    assert found.taken[0]["id"] == _messages(hub)[0].id


def test_door_event__same_push_again__one_message(
    hub: HubWorld, operator_key: str, receiver: tuple[Receiver, ServerThread]
) -> None:
    _hook(hub, operator_key, receiver)
    _push(hub, 1, 2)
    _push(hub, 2)
    hub.run_jobs()
    taken = [(m["id"], m["data"]["id"], m["data"]["at"]) for m in receiver[0].taken]
    assert len(taken) == 2, taken


def test_grant_state__granted_then_programmed_then_revoked__latest_state_posted_with_revision(
    hub: HubWorld, operator_key: str, receiver: tuple[Receiver, ServerThread]
) -> None:
    _hook(hub, operator_key, receiver)
    hub.grant(valid_from=iso(hub.clock.now()), valid_to=iso(hub.clock.now() + timedelta(hours=1)))
    hub.run_jobs()
    # The state waits a moment for the next word on it: its doors programmed.
    assert [m for m in receiver[0].taken if m["type"] == "grant.state"] == []
    _run_settled(hub)
    response = hub.post("RevokeAccess", {"ref": "rsv_one", "revision": 2})
    assert response.status_code == 200, response.text
    hub.run_jobs()
    _run_settled(hub)
    states = [
        (m["data"]["state"], [d["state"] for d in m["data"]["doors"]], m["data"]["revision"])
        for m in receiver[0].taken
        if m["type"] == "grant.state"
    ]
    # The "pending" state was replaced by "programmed" before it went: one message, not two.
    assert states == [("active", ["programmed"], 0), ("revoked", ["revoked"], 2)]


def test_grant_state__changes_while_undelivered__one_message_with_the_latest_state(
    hub: HubWorld, operator_key: str, receiver: tuple[Receiver, ServerThread]
) -> None:
    found, _ = receiver
    _hook(hub, operator_key, receiver)
    hub.grant(valid_from=iso(hub.clock.now()), valid_to=iso(hub.clock.now() + timedelta(hours=1)))
    assert hub.post("RevokeAccess", {"ref": "rsv_one", "revision": 2}).status_code == 200
    [message] = _messages(hub)  # granted, then revoked: one message waits
    _push(hub, 1)  # a door event is never folded into a grant's state
    _run_settled(hub)
    grant_states = [m for m in found.taken if m["type"] == "grant.state"]
    assert [(m["data"]["state"], m["data"]["revision"]) for m in grant_states] == [("revoked", 2)]
    # A new content has a new webhook-id (the message id and its version).
    assert grant_states[0]["id"].startswith(f"{message.id}.")
    assert [m["type"] for m in found.taken].count("door.event") == 1
    assert {m.state for m in _messages(hub)} == {"delivered"}


def test_grant_state__replaced_while_being_posted__the_newer_state_follows_under_a_new_id(
    hub: HubWorld, operator_key: str, receiver: tuple[Receiver, ServerThread]
) -> None:
    found, _ = receiver
    _hook(hub, operator_key, receiver)
    hub.grant(valid_from=iso(hub.clock.now()), valid_to=iso(hub.clock.now() + timedelta(hours=1)))
    [message] = _messages(hub)

    def revoke_while_posting() -> None:
        found.on_take = None
        assert hub.post("RevokeAccess", {"ref": "rsv_one", "revision": 2}).status_code == 200

    found.on_take = revoke_while_posting
    _run_settled(hub)
    _run_settled(hub)
    states = [(m["id"], m["data"]["state"]) for m in found.taken if m["type"] == "grant.state"]
    assert states[0][1] == "active"
    assert states[-1][1] == "revoked" and states[-1][0] != states[0][0]
    assert len({webhook_id for webhook_id, _ in states}) == len(states)  # none taken twice
    with hub.ctx.database.read() as session:
        stored = session.get(WebhookMessage, message.id)
        assert stored is not None and stored.state == "delivered" and stored.version > 1


def test_webhook__receiver_answers_500_once__retried_after_the_first_wait(
    hub: HubWorld, operator_key: str, receiver: tuple[Receiver, ServerThread]
) -> None:
    found, _ = receiver
    _hook(hub, operator_key, receiver)
    found.fail_with = [500]
    _push(hub, 1)
    hub.run_jobs()
    assert found.taken == [] and len(found.tries) == 1
    message = _messages(hub)[0]
    assert (message.state, message.attempts, message.last_error) == ("pending", 1, "http_500")
    hub.clock.advance(timedelta(seconds=4))
    hub.run_jobs()
    assert len(found.tries) == 1  # not before its wait (5 s)
    hub.clock.advance(timedelta(seconds=1))
    hub.run_jobs()
    assert len(found.taken) == 1
    assert found.tries == [message.id, message.id]  # the same webhook-id on every try
    assert _messages(hub)[0].state == "delivered"


def test_webhook__fails_through_the_schedule__dead_letter__operator_replays_it(
    hub: HubWorld, operator_key: str, receiver: tuple[Receiver, ServerThread]
) -> None:
    found, _ = receiver
    _hook(hub, operator_key, receiver)
    schedule = hub.ctx.settings.hub_webhook_retry_seconds
    found.fail_with = [500] * (len(schedule) + 1)
    _push(hub, 1)
    hub.run_jobs()
    for wait in schedule:
        assert _messages(hub)[0].state == "pending"
        hub.clock.advance(timedelta(seconds=wait))
        hub.run_jobs()
    message = _messages(hub)[0]
    assert (message.state, message.attempts) == ("dead", len(schedule) + 1)
    assert len(found.tries) == len(schedule) + 1 and found.taken == []

    listed = hub.http.get("/hub/v1/operator/webhooks/dead-letters", headers=_operator(operator_key))
    assert listed.status_code == 200
    assert [(d["id"], d["type"], d["last_error"]) for d in listed.json()] == [
        (message.id, "door.event", "http_500")
    ]
    view = hub.http.get("/hub/v1/webhook", headers=hub.headers()).json()
    assert view["dead"] == 1

    # The client itself cannot replay.
    path = f"/hub/v1/operator/webhooks/dead-letters/{message.id}/replay"
    assert hub.http.post(path, headers=hub.headers()).status_code == 401
    hub.clock.set(datetime.now(UTC))
    response = hub.http.post(path, headers=_operator(operator_key))
    assert response.status_code == 200, response.text
    hub.run_jobs()
    assert [m["id"] for m in found.taken] == [message.id]
    assert _messages(hub)[0].state == "delivered"
    # Not a dead letter any more: a second replay is a conflict.
    assert hub.http.post(path, headers=_operator(operator_key)).status_code == 409
    missing = "/hub/v1/operator/webhooks/dead-letters/msg_nope/replay"
    assert hub.http.post(missing, headers=_operator(operator_key)).status_code == 404


def test_webhook__name_resolves_inside_at_send_time__not_sent(
    hub: HubWorld, monkeypatch: pytest.MonkeyPatch, receiver: tuple[Receiver, ServerThread]
) -> None:
    found, server = receiver
    answers = {"hooks.example.net": "93.184.216.34"}

    def fake_getaddrinfo(host: str, port: int, **_: Any) -> list[Any]:
        address = answers[host]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr("hallkey.hub.webhook_targets.socket.getaddrinfo", fake_getaddrinfo)
    body = {"url": f"http://hooks.example.net:{server.port}/hook"}
    response = hub.http.put("/hub/v1/webhook", json=body, headers=hub.headers())
    assert response.status_code == 200, response.text
    answers["hooks.example.net"] = "127.0.0.1"  # DNS rebinding
    _push(hub, 1)
    hub.run_jobs()
    assert found.tries == []
    message = _messages(hub)[0]
    assert (message.state, message.last_error) == ("pending", "private_address")


def test_webhook__sent_to_the_address_that_was_checked__name_in_host_header(
    hub: HubWorld, monkeypatch: pytest.MonkeyPatch, receiver: tuple[Receiver, ServerThread]
) -> None:
    found, server = receiver
    checked: list[str] = []
    real_getaddrinfo = socket.getaddrinfo

    def fake_getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        if host != "hooks.invalid":
            return real_getaddrinfo(host, port, *args, **kwargs)
        checked.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    # Loopback stands for a public address here; the name exists for our check only, so a
    # send that resolved it again (instead of using the checked address) could not connect.
    monkeypatch.setattr("hallkey.hub.webhook_targets.socket.getaddrinfo", fake_getaddrinfo)
    monkeypatch.setattr("hallkey.hub.webhook_targets._inside", lambda _address: False)
    body = {"url": f"http://hooks.invalid:{server.port}/hook"}
    response = hub.http.put("/hub/v1/webhook", json=body, headers=hub.headers())
    assert response.status_code == 200, response.text
    found.secret = response.json()["secret"]
    hub.clock.set(datetime.now(UTC))
    _push(hub, 1)
    hub.run_jobs()
    assert [m["type"] for m in found.taken] == ["door.event"]
    assert found.hosts == [f"hooks.invalid:{server.port}"]
    assert checked == ["hooks.invalid", "hooks.invalid"]  # when set, and before the send


def test_pinned__name_kept_for_host_and_tls__address_in_the_url() -> None:
    target = pinned("https://hooks.example.org:8443/in?x=1", "93.184.216.34")
    assert target == Target(
        "https://93.184.216.34:8443/in?x=1",
        headers={"Host": "hooks.example.org:8443"},
        extensions={"sni_hostname": "hooks.example.org"},
    )
    v6 = pinned("http://hooks.example.org/in", "2606:2800:220:1::1")
    assert v6 == Target("http://[2606:2800:220:1::1]/in", headers={"Host": "hooks.example.org"})
    assert pinned("http://93.184.216.34/in", "93.184.216.34") == Target("http://93.184.216.34/in")


def test_delete_webhook__pending_become_dead_letters__events_forwarded_again(
    hub: HubWorld, operator_key: str, receiver: tuple[Receiver, ServerThread]
) -> None:
    found, _ = receiver
    _hook(hub, operator_key, receiver)
    found.fail_with = [500]
    _push(hub, 1)
    hub.run_jobs()
    assert hub.http.delete("/hub/v1/webhook", headers=hub.headers()).status_code == 204
    assert [(m.state, m.last_error) for m in _messages(hub)] == [("dead", "webhook_removed")]
    _push(hub, 2)
    assert "forward_events" in hub.queued_job_kinds()
    assert len(_messages(hub)) == 1


def test_webhook__written_after_its_removal__the_sender_makes_it_a_dead_letter(
    hub: HubWorld, operator_key: str, receiver: tuple[Receiver, ServerThread]
) -> None:
    found, _ = receiver
    _hook(hub, operator_key, receiver)
    hub.grant()
    # As if the GrantAccess had taken its client (with the webhook) just before the removal
    # committed: its message waits, and `clear_webhook` did not see it.
    with hub.ctx.database.transaction() as session:
        client = session.get(Client, hub.client_id)
        assert client is not None
        client.webhook_url = client.webhook_secret_sealed = None

    _run_settled(hub)

    assert found.tries == []
    assert [(m.state, m.last_error) for m in _messages(hub)] == [("dead", "webhook_removed")]


def test_webhook__delivered_messages_past_retention__purged_dead_letters_kept(
    hub: HubWorld, operator_key: str, receiver: tuple[Receiver, ServerThread]
) -> None:
    found, _ = receiver
    _hook(hub, operator_key, receiver)
    _push(hub, 1)
    hub.run_jobs()
    with hub.ctx.database.transaction() as session:
        session.add(
            WebhookMessage(
                id="msg_dead",
                client_id=hub.client_id,
                type="door.event",
                payload={},
                state="dead",
                attempts=7,
                last_error="http_500",
                created_at=hub.clock.now(),
                retry_from_at=hub.clock.now(),
                delivered_at=None,
            )
        )
    hub.clock.advance(timedelta(days=hub.ctx.settings.hub_retention_days, hours=2))
    hub.run_jobs()
    assert [(m.id, m.state) for m in _messages(hub)] == [("msg_dead", "dead")]
    assert len(found.taken) == 1


def test_next_wait__tries_at_fixed_points__none_after_the_last() -> None:
    schedule = (5.0, 30.0, 120.0)
    assert next_wait(schedule, timedelta(0)) == 5.0
    assert next_wait(schedule, timedelta(seconds=5)) == 30.0
    # A probe's early try (at 12 s) neither uses up nor pushes back the next point (35 s).
    assert next_wait(schedule, timedelta(seconds=12)) == 23.0
    assert next_wait(schedule, timedelta(seconds=154)) == 1.0
    assert next_wait(schedule, timedelta(seconds=155)) is None


def test_webhook__receiver_back__one_message_through_wakes_the_others(
    hub: HubWorld, operator_key: str, receiver: tuple[Receiver, ServerThread]
) -> None:
    found, _ = receiver
    _hook(hub, operator_key, receiver)
    found.fail_with = [500, 500, 500]
    _push(hub, 1)
    hub.run_jobs()
    _push(hub, 2)
    hub.run_jobs()
    hub.clock.advance(timedelta(seconds=5))
    hub.run_jobs()  # both tried again at 5 s: the first fails, the second goes through...
    # ...and wakes the first, waiting 30 s more, at once: the receiver is back.
    hub.run_jobs()
    assert len(found.taken) == 2, found.tries
    assert {m.state for m in _messages(hub)} == {"delivered"}
