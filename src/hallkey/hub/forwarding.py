"""Forwarding a client's door events to its booking system, batch by batch.

The receiver answers which events it refused (`rejected`: index, id and code of each); every
other event of a 2xx answer is taken. A refused event is quarantined: marked forwarded with
its code in `forward_error`, logged and counted, so that it never blocks later batches. A
receiver that refuses a whole batch for its content (an older receiver's 422, a 413) is asked
again with each half of it, until the single event it refuses is found and quarantined.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from prometheus_client import Counter

from hallkey.core.http import PeerError, call_json, make_client
from hallkey.core.jobs import RetryLater
from hallkey.hub import event_store
from hallkey.hub.context import HubContext
from hallkey.hub.models import Client, DoorEvent

log = logging.getLogger(__name__)

FORWARD_BATCH = 200
"""Events per request (the receiver takes at most 500)."""

SPLIT_STATUSES = frozenset({400, 413, 422})
"""Refusals of a whole batch that some event of it may be to blame for: the batch is split.
Any other refusal (a wrong address: 404, 405) blames no event and is retried as it stands."""

MAX_CODE_LENGTH = 64
"""The width of `DoorEvent.forward_error`."""

QUARANTINED = Counter(
    "hallkey_hub_events_quarantined_total",
    "Door events a client refused for good, kept out of later batches",
)


@dataclass(frozen=True)
class _Event:
    """One event as it is sent."""

    id: str
    body: dict[str, Any]


def event_body(event: DoorEvent, door_name: str) -> dict[str, Any]:
    """Returns a door event as the client receives it (forwarded or by webhook)."""
    return {
        "id": event.id,
        "ref": event.ref,
        "door": event.door_id,
        "door_name": door_name,
        "kind": event.kind,
        "reason": event.reason,
        "at": event.at.isoformat().replace("+00:00", "Z"),
    }


def _wire(event: DoorEvent, door_name: str) -> _Event:
    return _Event(id=event.id, body=event_body(event, door_name))


def forward_client_events(ctx: HubContext, client_id: str) -> None:
    """Sends the client's unforwarded events, batch after batch, until none is left.

    Raises RetryLater when the client cannot take them now; what was settled stays settled.
    """
    while True:
        with ctx.database.transaction() as session:
            client = session.get(Client, client_id)
            if client is None or not client.events_url or not client.events_token_sealed:
                return
            url = client.events_url
            token = ctx.box.open(client.events_token_sealed)
            rows = event_store.unforwarded_events(session, client_id, FORWARD_BATCH)
            batch = [_wire(event, name) for event, name in rows]
        if not batch:
            return
        # The client names a full URL; the HTTP helper wants an origin and a path.
        target = httpx.URL(url)
        origin = f"{target.scheme}://{target.netloc.decode()}"
        path = target.raw_path.decode() or "/"
        with make_client(origin, token, ctx.settings.http_timeout_seconds) as http:
            _send(ctx, http, path, client_id, batch)
        log.info("client %s: %d events forwarded", client_id, len(batch))
        if len(batch) < FORWARD_BATCH:
            return


def _send(
    ctx: HubContext, http: httpx.Client, path: str, client_id: str, batch: Sequence[_Event]
) -> None:
    """Sends one batch and settles each of its events, splitting it if it is refused whole."""
    try:
        response = call_json(http, "POST", path, {"events": [event.body for event in batch]})
    except PeerError as exc:
        if exc.status not in SPLIT_STATUSES:
            if not exc.retryable:
                log.warning("client %s refuses door events: %s", client_id, exc.status)
            raise RetryLater(f"client {client_id} events: {exc.status or 'unreachable'}") from None
        if len(batch) == 1:
            _settle(ctx, client_id, batch, {batch[0].id: _code(exc.code, exc.status)})
            return
        half = len(batch) // 2
        _send(ctx, http, path, client_id, batch[:half])
        _send(ctx, http, path, client_id, batch[half:])
        return
    _settle(ctx, client_id, batch, _rejected(response, batch))


def _rejected(response: httpx.Response, batch: Sequence[_Event]) -> dict[str, str]:
    """Returns the code of each event of `batch` the receiver lists in `rejected`."""
    try:
        answer = response.json()
    except ValueError:
        return {}
    listed = answer.get("rejected") if isinstance(answer, dict) else None
    if not isinstance(listed, list):
        return {}  # an older receiver: it took them all
    by_id = {event.id: event for event in batch}
    result: dict[str, str] = {}
    for item in listed:
        if not isinstance(item, dict):
            continue
        event = _listed_event(item, batch, by_id)
        if event is not None:
            result[event.id] = _code(item.get("code"), None)
    return result


def _listed_event(
    item: Mapping[str, Any], batch: Sequence[_Event], by_id: Mapping[str, _Event]
) -> _Event | None:
    index, event_id = item.get("index"), item.get("id")
    if type(index) is int and 0 <= index < len(batch):
        event = batch[index]
        if event_id is None or event_id == event.id:
            return event
    return by_id.get(event_id) if isinstance(event_id, str) else None


def _code(code: object, status: int | None) -> str:
    """Returns the receiver's error code, made safe to store, log and count."""
    text = code if isinstance(code, str) else ""
    safe = re.sub(r"[^a-z0-9_]+", "_", text.lower()).strip("_")[:MAX_CODE_LENGTH]
    return safe or (f"http_{status}" if status else "rejected")


def _settle(
    ctx: HubContext, client_id: str, batch: Sequence[_Event], rejected: Mapping[str, str]
) -> None:
    """Marks a batch's events forwarded, the rejected ones with their code (quarantined)."""
    now = ctx.clock.now()
    with ctx.database.transaction() as session:
        event_store.mark_forwarded(session, [e.id for e in batch if e.id not in rejected], now)
        for event_id, code in rejected.items():
            event_store.quarantine_event(session, event_id, code, now)
    if rejected:
        QUARANTINED.inc(len(rejected))
        # Ids and codes only: an event's ref and door stay out of the log.
        log.warning(
            "client %s refused door events, quarantined: %s",
            client_id,
            ", ".join(f"{event_id} ({code})" for event_id, code in sorted(rejected.items())),
        )
