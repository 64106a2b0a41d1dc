"""The `sync_series_access` job: one grant at the hub for a whole series.

State-based like `sync_access`: it reads the series as it is now and makes the hub agree —
`GrantAccess {ref: series.ref, windows}` with one window per live occurrence (confirmed, in a
confirmed series), each widened by the resource's access minutes; else `UpdateAccess` with
the windows; `RevokeAccess` once nothing is live (cancelled, denied, or every window over).
The revision is the series' version; a refusal fails closed; no database transaction is held
during the call (`tasks.push` does the calls and stores the outcome on the series).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from hallkey.booking import domain
from hallkey.booking import repository as repo
from hallkey.booking import series_store as store
from hallkey.booking.tasks import Snapshot, push
from hallkey.core.jobs import GiveUp

if TYPE_CHECKING:
    from hallkey.booking.context import BookingContext

log = logging.getLogger(__name__)


def _read(ctx: BookingContext, series_id: str) -> Snapshot | None:
    with ctx.database.transaction() as session:
        row = store.series(session, series_id)
        if row is None:
            return None
        resource = repo.resource(session, row.resource_id)
        tenant = repo.tenant(session, row.tenant_id)
        assert resource is not None and tenant is not None
        live = (
            [o for o in store.occurrences(session, row.id) if o.status == "confirmed"]
            if row.status == "confirmed"
            else []
        )
        frames = domain.merge(
            domain.access_window(
                domain.Frame(o.start_at, o.end_at),
                resource.access_before_minutes,
                resource.access_after_minutes,
            )
            for o in live
        )
        if frames and frames[-1].end <= ctx.clock.now():
            frames = []  # the season is over: nothing is live any more
        if row.status == "requested":
            status = "requested"
        else:
            status = "confirmed" if frames else "cancelled"
        grant_asked = row.access_requested_at is not None
        if status == "confirmed" and not grant_asked:
            # Recorded before the call: a later cancel must revoke even if this call is lost.
            row.access_requested_at = ctx.clock.now()
        try:
            hub_api_key = ctx.box.open(tenant.hub_api_key_sealed)
        except ValueError:
            raise GiveUp("the tenant's hub API key cannot be unsealed") from None
        return Snapshot(
            reservation_id=row.id,
            version=row.version,
            status=status,
            ref=row.ref,
            hub_url=tenant.hub_url,
            hub_api_key=hub_api_key,
            doors=list(resource.door_ids),
            credential=row.access_credential,
            operation=resource.access_operation,
            valid_from=frames[0].start if frames else row.created_at,
            valid_to=frames[-1].end if frames else row.created_at,
            phone=row.contact_phone,
            email=row.contact_email,
            grant_asked=grant_asked or status == "confirmed",
            series_id=row.id,
            windows=tuple((f.start, f.end) for f in frames),
        )


def run_sync_series_access(ctx: BookingContext, series_id: str) -> None:
    """Makes the hub's one grant for the series match its live occurrences now."""
    snap = _read(ctx, series_id)
    if snap is None:
        log.warning("sync_series_access: series %s is gone", series_id)
        return
    push(ctx, snap)
