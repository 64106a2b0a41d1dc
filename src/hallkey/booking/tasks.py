"""Background jobs of the booking context: pushing each reservation's access to the hub.

`sync_access` is state-based: it reads the reservation as it is now and makes the hub agree,
so jobs may run in any order and any number of times. No database transaction is held open
while the hub is called (SQLite has a single writer).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from hallkey.booking import domain, emails, rounds_emails, series_emails, series_store, sign_in
from hallkey.booking import repository as repo
from hallkey.booking.models import Reservation
from hallkey.booking.series_models import Series
from hallkey.booking.service import SYNC_ACCESS
from hallkey.core.http import PeerError, call_json, make_client
from hallkey.core.jobs import GiveUp, Handler, JobRun, RetryLater

if TYPE_CHECKING:
    import httpx

    from hallkey.booking.context import BookingContext

log = logging.getLogger(__name__)

_SECRET_FIELDS = ("code", "code_formatted", "url", "mobile_key")
STALE_REVISION = "stale_revision"
GRANT_REVOKED = "grant_revoked"
GRANT_DIFFERS = "grant_differs"
"""The hub's grant stays other than asked, even after an UpdateAccess: tried again later."""


def handlers(ctx: BookingContext) -> dict[str, Handler]:
    """Returns the booking context's job handlers by kind."""

    def sync_access(job: JobRun) -> None:
        run_sync_access(ctx, str(job.payload.get("reservation_id", "")))

    def send_sign_in_link(job: JobRun) -> None:
        sign_in.run_send_link(ctx, job.job_id, dict(job.payload))

    def sync_series_access(job: JobRun) -> None:
        # Imported here: series_access builds on this module's push.
        from hallkey.booking.series_access import run_sync_series_access

        run_sync_series_access(ctx, str(job.payload.get("series_id", "")))

    return {
        SYNC_ACCESS: sync_access,
        series_store.SYNC_SERIES_ACCESS: sync_series_access,
        series_emails.SERIES_EMAIL: lambda job: series_emails.run_series_email(ctx, job),
        emails.CUSTOMER_EMAIL: lambda job: emails.run_customer_email(ctx, job),
        sign_in.SEND_SIGN_IN_LINK: send_sign_in_link,
        rounds_emails.ROUND_EMAIL: lambda job: rounds_emails.run_round_email(ctx, job),
    }


@dataclass(frozen=True)
class Snapshot:
    """What one push needs, read in one short transaction (holds personal data: never log).

    A reservation's, or a series' (`series_id` set, and its `windows`: one per live
    occurrence; `reservation_id` is then the series' id)."""

    reservation_id: str
    version: int
    status: str
    ref: str
    hub_url: str
    hub_api_key: str
    doors: list[str]
    credential: str
    operation: str
    valid_from: datetime
    valid_to: datetime
    phone: str | None
    email: str | None
    grant_asked: bool
    series_id: str | None = None
    windows: tuple[tuple[datetime, datetime], ...] = ()

    def frames(self) -> list[tuple[datetime, datetime]]:
        """Returns the windows the grant must hold, in order."""
        return list(self.windows) if self.windows else [(self.valid_from, self.valid_to)]

    def frames_body(self) -> dict[str, Any]:
        """Returns the time part of a GrantAccess / UpdateAccess body."""
        if not self.windows:
            return {"valid_from": _utc(self.valid_from), "valid_to": _utc(self.valid_to)}
        return {"windows": [{"valid_from": _utc(a), "valid_to": _utc(b)} for a, b in self.windows]}


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _read(ctx: BookingContext, reservation_id: str) -> Snapshot | None:
    # Reads only: a confirmed reservation was marked as asked for a grant when its push was
    # queued (`service.enqueue_sync`).
    with ctx.database.read() as session:
        found = repo.placed_reservation(session, reservation_id)
        if found is None or found.reservation.series_id is not None:
            # An occurrence's access is its series' grant (`sync_series_access`).
            return None
        reservation, resource, tenant = found.reservation, found.resource, found.tenant
        try:
            hub_api_key = ctx.box.open(tenant.hub_api_key_sealed)
        except ValueError:
            raise GiveUp("the tenant's hub API key cannot be unsealed") from None
        window = domain.access_window(
            domain.Frame(reservation.start_at, reservation.end_at),
            resource.access_before_minutes,
            resource.access_after_minutes,
        )
        return Snapshot(
            reservation_id=reservation.id,
            version=reservation.version,
            status=reservation.status,
            ref=reservation.ref,
            hub_url=tenant.hub_url,
            hub_api_key=hub_api_key,
            doors=list(resource.door_ids),
            credential=reservation.access_credential,
            operation=resource.access_operation,
            valid_from=window.start,
            valid_to=window.end,
            phone=reservation.contact_phone,
            email=reservation.contact_email,
            grant_asked=reservation.access_requested_at is not None,
        )


def _recipient(snap: Snapshot) -> dict[str, str]:
    recipient: dict[str, str] = {}
    if snap.phone:
        recipient["phone"] = snap.phone
    if snap.email:
        recipient["email"] = snap.email
    return recipient


def _grant(client: httpx.Client, snap: Snapshot) -> dict[str, Any]:
    """Returns the hub's grant after asking for it (or moving it, if it holds other content),
    checked to be exactly what the reservation asks for."""
    recipient = _recipient(snap)
    # Only the ref, the doors, the frame and how to reach the guest: never the name.
    body = {
        "ref": snap.ref,
        "operation": snap.operation,
        "credential": snap.credential,
        "doors": snap.doors,
        **snap.frames_body(),
        "recipient": recipient,
        # An unlock hands nobody a credential: there is nothing to deliver.
        "deliver_via": []
        if snap.operation == "unlock"
        else [via for via, key in (("sms", "phone"), ("email", "email")) if key in recipient],
        "locale": "nb",
        # The reservation's version orders our calls at the hub: an older one is refused
        # there, and a newer one may grant again a ref whose grant was revoked.
        "revision": snap.version,
    }
    try:
        response = call_json(client, "POST", "/hub/v1/GrantAccess", body, ok_statuses=(200, 201))
        grant = _grant_of(response)
    except PeerError as exc:
        if exc.status != 409 or exc.code != "ref_in_use":
            raise
        grant = _update(client, snap)
    if not _holds(grant, snap):
        # The hub answered with a grant other than the one asked for: put it right.
        grant = _update(client, snap)
        if not _holds(grant, snap):
            raise PeerError(
                "hub grant differs from the reservation",
                status=None,
                code=GRANT_DIFFERS,
                retryable=True,
            )
    return grant


def _update(client: httpx.Client, snap: Snapshot) -> dict[str, Any]:
    body = {
        "ref": snap.ref,
        **snap.frames_body(),
        "doors": snap.doors,
        "recipient": _recipient(snap),
        "revision": snap.version,
    }
    return _grant_of(call_json(client, "POST", "/hub/v1/UpdateAccess", body, ok_statuses=(200,)))


def _grant_of(response: httpx.Response) -> dict[str, Any]:
    grant = response.json()
    if not isinstance(grant, dict):
        raise PeerError(
            "hub answered with no grant", status=None, code="bad_answer", retryable=True
        )
    return grant


def _holds(grant: dict[str, Any], snap: Snapshot) -> bool:
    """Tells whether the hub's grant is active in exactly the reservation's frame, at its
    doors (a door the hub lists beyond them may only be on its way out)."""
    try:
        windows = [
            (datetime.fromisoformat(w["valid_from"]), datetime.fromisoformat(w["valid_to"]))
            for w in grant["windows"]
        ]
        doors = {str(d["id"]): str(d["state"]) for d in grant["doors"]}
    except (KeyError, TypeError, ValueError):
        return False
    return (
        grant.get("state") == "active"
        and windows == snap.frames()
        and all(doors.get(door) not in (None, "revoked") for door in snap.doors)
        and not any(s == "programmed" for d, s in doors.items() if d not in snap.doors)
    )


def _revoke(client: httpx.Client, snap: Snapshot, revision: int | None = None) -> None:
    # 404: the hub never made the grant, so there is nothing to revoke.
    body = {"ref": snap.ref, "revision": snap.version if revision is None else revision}
    call_json(client, "POST", "/hub/v1/RevokeAccess", body, ok_statuses=(200, 404))


def _withdraw(client: httpx.Client, snap: Snapshot) -> None:
    """Stops what an older version of the reservation was granted, after the hub refused
    this version for good (fail closed), without barring a retry of this version.

    The revocation carries the revision just below this version: it still overtakes anything
    older, and a later GrantAccess of this same version (an operator's `jobs retry` once the
    hub is mended) is newer than it, so the hub grants again. Were it sent as this version,
    the hub would answer that retry `grant_revoked` for good.
    """
    try:
        _revoke(client, snap, revision=snap.version - 1)
    except PeerError as exc:
        if exc.code != STALE_REVISION:
            raise
        # The hub already holds this version (its content changed since without a new
        # version): fail closed at this version; only a newer one is not ours to undo.
        try:
            _revoke(client, snap)
        except PeerError as again:
            if again.code != STALE_REVISION:
                raise


def _write(ctx: BookingContext, snap: Snapshot, **values: Any) -> None:
    """Stores the outcome, unless the reservation changed meanwhile (then pushes again).

    One UPDATE that names the version pushed: a newer change is never overwritten, and the
    row is read only when it did not match (gone, or changed)."""
    model: type[Reservation] | type[Series] = Reservation if snap.series_id is None else Series
    row_id = snap.series_id or snap.reservation_id
    with ctx.database.transaction() as session:
        if repo.update_at_version(session, model, row_id, snap.version, values):
            return
        if session.get(model, row_id) is None:
            return
        raise RetryLater("the reservation changed during the push", after_seconds=0)


def run_sync_access(ctx: BookingContext, reservation_id: str) -> None:
    """Makes the hub's grant match the reservation's current state."""
    snap = _read(ctx, reservation_id)
    if snap is None:
        log.warning("sync_access: reservation %s is gone or in a series", reservation_id)
        return
    push(ctx, snap)


def push(ctx: BookingContext, snap: Snapshot) -> None:
    """Makes the hub's grant for the snapshot's ref agree with it: grant (or move) while it
    is confirmed, revoke otherwise; stores the outcome on its row."""
    if snap.status == "requested":
        return
    if snap.status != "confirmed" and not snap.grant_asked:
        # Cancelled or denied before the hub heard of it: there is nothing to revoke there.
        _write(ctx, snap, access_state="revoked", access_secret_sealed=None, access_error=None)
        return
    refused: PeerError | None = None
    try:
        with make_client(snap.hub_url, snap.hub_api_key, ctx.settings.http_timeout_seconds) as c:
            grant = None
            if snap.status == "confirmed":
                try:
                    grant = _grant(c, snap)
                except PeerError as exc:
                    if exc.retryable:
                        raise
                    refused = exc
                    # Refused for good. Fail closed: whatever an earlier version of this
                    # reservation was granted (another time, other doors) must stop working —
                    # unless the hub has a newer version than this, which is not ours to undo,
                    # or the grant is revoked already.
                    if exc.code not in (STALE_REVISION, GRANT_REVOKED):
                        _withdraw(c, snap)
            else:
                _revoke(c, snap)
    except PeerError as exc:
        # Passing trouble, a key an operator must fix, or a revocation not yet acknowledged:
        # all are tried again with backoff. A revocation is never given up.
        if snap.status == "confirmed":
            # The hub has not confirmed this version of the reservation (or keeps holding
            # another grant): show no code until it does.
            _write(ctx, snap, access_state="pending", access_secret_sealed=None, access_error=None)
        raise RetryLater(f"hub: {exc.status or 'unreachable'} {exc.code or ''}".strip()) from None
    if refused is not None:
        error = refused.code or f"http_{refused.status}"
        _write(ctx, snap, access_state="failed", access_secret_sealed=None, access_error=error[:64])
        log.warning("sync_access %s v%d: hub refused (%s)", snap.ref, snap.version, error)
        raise GiveUp(f"hub refused: {refused.status} {error}")
    if grant is None:
        _write(ctx, snap, access_state="revoked", access_secret_sealed=None, access_error=None)
        log.info("sync_access %s v%d: revoked", snap.ref, snap.version)
        return
    secret = {key: str(grant[key]) for key in _SECRET_FIELDS if grant.get(key) is not None}
    _write(
        ctx,
        snap,
        access_state="granted",
        access_credential=str(grant.get("credential") or snap.credential)[:20],
        access_secret_sealed=ctx.box.seal(json.dumps(secret)) if secret else None,
        access_error=None,
    )
    log.info("sync_access %s v%d: granted", snap.ref, snap.version)
