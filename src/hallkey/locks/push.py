"""Sending door events to the hub (`POST /hub/v1/controller-events`).

The hub takes the good events of a batch and lists the bad ones in `rejected` by index and id.
Both are done: the rejected ones are marked pushed too, but quarantined with the hub's code, so
one odd event never blocks the others. An older hub refuses the whole batch for one bad event;
then the batch is halved until the bad event is alone, and that one is quarantined.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import httpx
from prometheus_client import Counter

from hallkey.core.http import PeerError, call_json, make_client
from hallkey.core.jobs import GiveUp, RetryLater
from hallkey.locks import event_queries

if TYPE_CHECKING:
    from hallkey.locks.context import LocksContext

log = logging.getLogger(__name__)

EVENTS_QUARANTINED = Counter(
    "hallkey_locks_events_quarantined_total",
    "Door events the hub refused; marked pushed with its code so they block nothing",
)

_BISECT_STATUSES = frozenset({400, 413, 422})
"""Refusals of a whole batch that one bad event (or the batch's size) can cause."""

_QUARANTINE_STATUSES = frozenset({400, 422})
"""Refusals of a batch of one that blame the event. Any other (a wrong URL's 404, say) says
nothing about the event: it stays unpushed, and the sweep tries again."""

_CODE_TEXT = re.compile(r"[^A-Za-z0-9_.:-]")


def send_events(ctx: LocksContext, url: str, token: str, events: Sequence[dict[str, Any]]) -> None:
    """Sends `events` (their JSON form) to the hub and marks every one it answered for.

    Raises RetryLater while the hub is unreachable or failing, GiveUp when it refuses the
    call for a reason no event explains; the events not yet answered for stay unpushed.
    """
    with make_client(url, token, ctx.settings.http_timeout_seconds) as client:
        _send(ctx, client, url, list(events))


def _send(ctx: LocksContext, client: httpx.Client, url: str, events: list[dict[str, Any]]) -> None:
    try:
        response = call_json(client, "POST", url, {"events": events}, ok_statuses=(200,))
    except PeerError as exc:
        if exc.retryable:
            raise RetryLater(f"hub events: {exc.status or exc.code}") from exc
        if exc.status in _BISECT_STATUSES and len(events) > 1:
            middle = len(events) // 2
            _send(ctx, client, url, events[:middle])
            _send(ctx, client, url, events[middle:])
            return
        if exc.status in _QUARANTINE_STATUSES:
            _settle(ctx, events, {str(events[0]["id"]): _code(exc.code, exc.status)})
            return
        raise GiveUp(f"hub refused events: {exc.status} {exc.code or ''}".strip()) from exc
    try:
        answer: Any = response.json()
    except ValueError:
        answer = None  # a 200 took the batch, whatever its body says
    _settle(ctx, events, rejected_events(answer, events))


def rejected_events(answer: Any, events: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Returns the hub's code for each event of the batch it rejected, by event id.

    A rejection names the event by `index` in the batch and by `id`; where the two disagree
    the id wins, and an entry that names no event sent is ignored (the batch was taken).
    """
    items = answer.get("rejected") if isinstance(answer, dict) else None
    if not isinstance(items, list):
        return {}
    sent = [str(event["id"]) for event in events]
    found: dict[str, str] = {}
    for item in items:
        if not isinstance(item, dict):
            continue
        index, event_id = item.get("index"), item.get("id")
        if type(index) is int and 0 <= index < len(sent) and event_id in (None, sent[index]):
            found[sent[index]] = _code(item.get("code"), None)
        elif isinstance(event_id, str) and event_id in sent:
            found[event_id] = _code(item.get("code"), None)
    return found


def _code(code: object, status: int | None) -> str:
    """Returns the hub's error code fit for a column and a log line (the hub's own text)."""
    text = code if isinstance(code, str) and code else f"http_{status or 'rejected'}"
    return _CODE_TEXT.sub("_", text)[:64]


def _settle(
    ctx: LocksContext, events: Sequence[Mapping[str, Any]], rejected: dict[str, str]
) -> None:
    """Marks the events pushed, quarantining the rejected ones; one transaction."""
    with ctx.database.transaction() as session:
        now = ctx.clock.now()
        event_queries.mark_pushed(session, [str(event["id"]) for event in events], now)
        event_queries.quarantine(session, rejected)
    by_code: dict[str, list[str]] = {}
    for event_id, code in rejected.items():
        by_code.setdefault(code, []).append(event_id)
    for code, event_ids in sorted(by_code.items()):
        EVENTS_QUARANTINED.inc(len(event_ids))
        # Event ids and the code only: the events themselves stay in the controller's table.
        log.warning(
            "the hub refused %d door events (%s); quarantined: %s",
            len(event_ids),
            code,
            ", ".join(event_ids),
        )
