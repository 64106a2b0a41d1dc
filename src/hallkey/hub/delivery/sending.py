"""The `deliver` job: draws up one delivery from the grant as it is now, and sends it.

The code is read (and shown) only here. A message that is no longer true is dropped instead:
a grant revoked (all but its revocation), a revocation of a code never sent, a reminder of a
window moved or already begun.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from hallkey.core.jobs import JobRun, RetryLater
from hallkey.core.messaging.base import OutgoingMessage
from hallkey.hub import repository as repo
from hallkey.hub import views
from hallkey.hub.context import HubContext
from hallkey.hub.credentials.sms import door_keyword
from hallkey.hub.delivery import alerts, outcomes
from hallkey.hub.delivery.generations import carries_current_code
from hallkey.hub.delivery.reminders import REMINDER, window_of
from hallkey.hub.delivery.templates import render, render_sms_answer
from hallkey.hub.domain import Window
from hallkey.hub.models import Client, Delivery, Door, Grant, GrantDoor, Site

log = logging.getLogger(__name__)


def deliver(ctx: HubContext, job: JobRun) -> None:
    """Renders and sends the job's deliveries (`{"delivery_ids"}`): a grant's message on each
    of its channels, or one operator alert or answer; each settled on its own."""
    ids = job.listed("delivery_ids", "delivery_id")
    messages: list[OutgoingMessage] = []
    waits: list[RetryLater] = []
    # Read and rendered without SQLite's write lock (a render is slow next to a write); a
    # message that is not to be sent is settled by `_drop`, which checks it is still queued.
    with ctx.database.read() as session:
        found = repo.deliveries_with_grant(session, ids)
        shared = _GrantFacts(session)
        for delivery, grant, client in found:
            try:
                message = _message(ctx, session, delivery, grant, client, shared)
            except RetryLater as wait:
                waits.append(wait)
                continue
            if message is not None:
                messages.append(message)
    for message in messages:
        # A channel that fails passingly does not hold back the others: each is retried
        # alone (a sent one is no longer `queued` when the job runs again).
        try:
            outcomes.send(ctx, message)
        except RetryLater as wait:
            waits.append(wait)
    if waits:
        raise waits[0]


def _message(
    ctx: HubContext,
    session: Session,
    delivery: Delivery,
    grant: Grant | None,
    client: Client | None,
    shared: _GrantFacts,
) -> OutgoingMessage | None:
    """Returns one queued delivery drawn up now, or None when it is not (or no longer) to go."""
    if delivery.state != "queued":
        return None
    if delivery.facts is not None:
        return alerts.alert_message(ctx, session, delivery)
    if delivery.grant_id is None:
        return _sms_answer(ctx, delivery)
    if grant is None:
        return None  # deleted with the grant meanwhile
    return _grant_message(ctx, session, delivery, grant, client, shared)


class _GrantFacts:
    """What every channel's message of one grant reads alike, read once a job."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._windows: dict[str, list[Window]] = {}
        self._placed: dict[str, list[tuple[GrantDoor, Door, Site]]] = {}

    def windows(self, grant_id: str) -> list[Window]:
        if grant_id not in self._windows:
            self._windows[grant_id] = list(repo.grant_windows(self._session, grant_id))
        return self._windows[grant_id]

    def doors(self, grant_id: str) -> list[tuple[GrantDoor, Door, Site]]:
        """The grant's doors with their sites, in one query."""
        if grant_id not in self._placed:
            self._placed[grant_id] = repo.grant_doors_with_sites(self._session, grant_id)
        return self._placed[grant_id]


def _grant_message(
    ctx: HubContext,
    session: Session,
    delivery: Delivery,
    grant: Grant,
    client: Client | None,
    shared: _GrantFacts,
) -> OutgoingMessage | None:
    """Returns a grant's message drawn up now, or None (and drops it) when it is not to go."""
    delivery_id = delivery.id
    if grant.state == "revoked" and delivery.template != "access_revoked":
        # Never send a code that no longer works.
        _drop(ctx, delivery_id, "grant_revoked")
        log.info("delivery %s dropped: the grant was revoked", delivery_id)
        return None
    if delivery.template == "access_revoked" and not _credential_was_sent(session, delivery):
        # Nobody is told that a code they never got stops working.
        _drop(ctx, delivery_id, "nothing_to_revoke")
        log.info("delivery %s dropped: no credential was sent on it", delivery_id)
        return None
    windows = shared.windows(grant.id)
    if delivery.template == REMINDER:
        window = window_of(windows, delivery.window_at) if delivery.window_at else None
        if window is None or ctx.clock.now() >= window.valid_from:
            _drop(ctx, delivery_id, "window_moved" if window is None else "window_begun")
            return None
        windows = [window]
    sealed = (
        grant.recipient_phone_sealed if delivery.channel == "sms" else grant.recipient_email_sealed
    )
    if sealed is None:
        _drop(ctx, delivery_id, "no_address", attempted=True)
        log.info("delivery %s failed: no %s address", delivery_id, delivery.channel)
        return None
    # The message names the first door's site.
    placed = [
        (door, site)
        for row, door, site in shared.doors(grant.id)
        if row.action == "program" or delivery.template == "access_revoked"
    ]
    doors = [door for door, _ in placed]
    site = placed[0][1] if placed else None
    shown = views.shown_credential(ctx, grant)
    rendered = render(
        delivery.template,
        grant.locale,
        doors=[d.name for d in doors],
        place=site.name if site else "",
        windows=windows,
        timezone=site.timezone if site else ctx.settings.default_timezone,
        code=shown.code_formatted,
        link=shown.url or shown.mobile_key,
        sms_number=ctx.settings.sms_number if grant.credential == "sms" else None,
        keywords=[door_keyword(d.name) for d in doors],
    )
    email = delivery.channel == "email"
    return OutgoingMessage(
        delivery_id=delivery_id,
        channel=delivery.channel,
        to=ctx.box.open(sealed),
        subject=rendered.subject if email else None,
        body=rendered.email if email else rendered.sms,
        html=rendered.html if email else None,
        sender=client.email_from if email and client is not None else None,
    )


def _sms_answer(ctx: HubContext, delivery: Delivery) -> OutgoingMessage | None:
    """Returns the answer to a guest's text that `delivery` is, or None (and drops it) when its
    number is gone."""
    if delivery.to_sealed is None:
        _drop(ctx, delivery.id, "no_address", attempted=True)
        return None
    return OutgoingMessage(
        delivery_id=delivery.id,
        channel="sms",
        to=ctx.box.open(delivery.to_sealed),
        subject=None,
        body=render_sms_answer(delivery.template, delivery.locale),
    )


def _drop(ctx: HubContext, delivery_id: str, error: str, *, attempted: bool = False) -> None:
    """Marks a still queued delivery `failed` with `error`, without sending it."""
    with ctx.database.transaction() as session:
        delivery = session.get(Delivery, delivery_id)
        if delivery is None or delivery.state != "queued":
            return
        delivery.state = "failed"
        delivery.error = error
        if attempted:
            delivery.attempts += 1


def _credential_was_sent(session: Session, revocation: Delivery) -> bool:
    """Tells whether a message with the credential went out on the revocation's channel;
    raises RetryLater while one may still go out (it is dropped, the grant being revoked)."""
    if revocation.grant_id is None:
        return False
    # Only messages with the code the grant holds now: an earlier code (before a revocation
    # and a new grant) was told of its own revocation, or superseded.
    credentials = [
        d
        for d in repo.deliveries(session, revocation.grant_id)
        if d.channel == revocation.channel and carries_current_code(d)
    ]
    if any(d.state == "queued" for d in credentials):
        raise RetryLater(f"delivery {revocation.id}: waits for the credential's delivery")
    return any(d.state == "sent" for d in credentials)
