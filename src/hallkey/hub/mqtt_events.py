"""Door events that MQTT devices publish (hallkey flavour, `{prefix}/{door}/event`), read into
the hub's door events and forwarded like a controller's.

A device's event is JSON `{"id"?, "kind", "ref"?, "reason"?, "at"?}`. It is stored once per
site and event: by the device's `id` (unique per door), or, without one, by the whole payload
when it has its `at` (a broker's redelivery of the same message is then the same event).
Without `at` the hub's receiving time stands for it, and a message with neither cannot be told
from a later identical one: each is stored (a redelivery may then count twice).

A hub worker listens: the recurring job `mqtt_events` subscribes it to every MQTT site's events
(a new site at the job's next run, at once when an operator makes one), and one writer thread
stores what arrives, so the broker's network thread never waits for the database.
"""

from __future__ import annotations

import hashlib
import json
import logging
import queue
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hallkey.core.jobs import JobRun, once_id
from hallkey.hub import events, service
from hallkey.hub.connectors.base import ConnectorError
from hallkey.hub.connectors.mqtt import EventSink, MqttConnector
from hallkey.hub.context import HubContext
from hallkey.hub.models import Site

log = logging.getLogger(__name__)

LISTEN_JOB = "mqtt_events"
LISTEN_JOB_ID = once_id(LISTEN_JOB, "all")
LISTEN_EVERY = timedelta(seconds=60)
"""How soon a site made without the operator API (or a lost subscription) is listened to."""
MAX_PAYLOAD = 4096
_STOP = object()


@dataclass(frozen=True)
class Received:
    """One message from a device, as it arrived."""

    site_id: str
    door: str
    payload: bytes
    received_at: datetime


def event_of(item: Received) -> dict[str, Any] | None:
    """Returns the controller-event shape of a device's message, or None when it is no JSON
    object (the fields themselves are checked as a controller's are)."""
    if len(item.payload) > MAX_PAYLOAD:
        return None
    try:
        body = json.loads(item.payload)
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    device_id = body.get("id")
    # Device ids are the door's own: scoped by the door, hashed to the column's width.
    if isinstance(device_id, str) and device_id:
        basis = f"id\0{device_id}"
    elif body.get("at"):
        basis = item.payload.hex()
    else:
        basis = f"{item.payload.hex()}\0{item.received_at.isoformat()}"
    digest = hashlib.sha256(f"{item.door}\0{basis}".encode()).hexdigest()[:40]
    event: dict[str, Any] = {
        "id": f"mqtt_{digest}",
        "door": item.door,
        "kind": body.get("kind"),
        "at": body.get("at") or item.received_at.isoformat(),
    }
    for optional in ("ref", "reason"):
        if body.get(optional) is not None:
            event[optional] = body[optional]
    return event


class MqttEventReader:
    """Listens to the event topics of MQTT sites and stores what devices publish."""

    def __init__(self, ctx: HubContext) -> None:
        self.ctx = ctx
        self._queue: queue.Queue[object] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def listen(self, session: Session) -> int:
        """Subscribes to the events of every MQTT site (again: a repeat replaces the old
        subscription); returns how many sites are listened to."""
        listened = 0
        for site in session.scalars(select(Site).where(Site.connector == "mqtt")):
            try:
                connector = service.site_connector(self.ctx, site)
            except service.SiteMisconfigured:
                continue  # logged there; an operator must mend it
            if not isinstance(connector, MqttConnector):
                continue
            site_id = site.id
            self._start()
            try:
                if connector.listen_events(site_id, self._sink(site_id)):
                    listened += 1
            except ConnectorError:
                log.warning("site %s: its MQTT broker cannot be reached; listening later", site_id)
        return listened

    def _sink(self, site_id: str) -> EventSink:
        def received(door: str, payload: bytes) -> None:
            self._queue.put(Received(site_id, door, payload, self.ctx.clock.now()))

        return received

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._write, name="hub-mqtt-events", daemon=True
                )
                self._thread.start()

    def _write(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                self._queue.task_done()
                return
            try:
                if isinstance(item, Received):
                    self.store(item)
            except Exception:
                log.exception("an MQTT door event could not be stored")
            finally:
                self._queue.task_done()

    def store(self, item: Received) -> bool:
        """Stores one device message as the site's door event; tells whether it was taken."""
        event = event_of(item)
        if event is None:
            events.EVENTS_REJECTED.inc()
            log.warning("site %s: an MQTT door event is not a JSON object", item.site_id)
            return False
        with self.ctx.database.transaction() as session:
            site = session.get(Site, item.site_id)
            if site is None:
                return False
            answer = service.ingest_controller_events(self.ctx, session, site, [event])
        return answer.accepted == 1

    def wait_idle(self, timeout: float) -> bool:
        """Returns once every message received so far is stored (for tests and shutdown)."""
        done = threading.Event()

        def join() -> None:
            self._queue.join()
            done.set()

        threading.Thread(target=join, daemon=True).start()
        return done.wait(timeout)

    def close(self) -> None:
        """Stops the writer thread after what is queued."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(_STOP)
            thread.join(timeout=5)


def listen_job(ctx: HubContext, job: JobRun) -> timedelta:
    """Subscribes this worker to every MQTT site's door events; runs again after a while."""
    with ctx.database.read() as session:
        count = ctx.mqtt_events.listen(session)
    log.debug("listening to the door events of %d MQTT sites", count)
    return LISTEN_EVERY


def listen_soon(ctx: HubContext, session: Session) -> None:
    """Makes the listening job run now (a site was made or changed)."""
    ctx.jobs.enqueue_once(session, LISTEN_JOB_ID, LISTEN_JOB, rearm=True)
