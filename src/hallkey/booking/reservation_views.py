"""A reservation as the API shows it: its contact, the case officer's decision, its access
(the code or key the hub confirmed for its current version) and its door events."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from hallkey.booking import prices, series_store, usage
from hallkey.booking import repository as repo
from hallkey.booking.models import AccessEvent, Reservation
from hallkey.booking.schemas import AccessOut, CustomerOut, DecisionOut, EventOut, ReservationOut
from hallkey.booking.series_models import Series

if TYPE_CHECKING:
    from hallkey.booking.context import BookingContext


def decision_out(row: Reservation | Series) -> DecisionOut | None:
    """Returns the case officer's decision on a reservation or series, if one was made."""
    if row.decided_by is None or row.decided_at is None:
        return None
    return DecisionOut(by=row.decided_by, at=row.decided_at, reason=row.decision_reason)


def contact_out(reservation: Reservation) -> CustomerOut:
    """Returns who made a reservation, as given with it, and the customer it belongs to."""
    return CustomerOut(
        id=reservation.customer_id,
        name=reservation.contact_name,
        phone=reservation.contact_phone,
        email=reservation.contact_email,
    )


def open_access_secret(ctx: BookingContext, sealed: str | None) -> dict[str, str]:
    """Returns the stored credential (code, link…) of a reservation."""
    if sealed is None:
        return {}
    data = json.loads(ctx.box.open(sealed))
    return {str(key): str(value) for key, value in data.items() if value is not None}


def reservation_view(
    ctx: BookingContext, session: Session, reservation: Reservation, *, new: bool = False
) -> ReservationOut:
    """Returns the API view of a reservation, with its credential and door events.

    `new`: the reservation was made in this transaction; its ref is fresh from `new_ref()`, so
    no door can have reported an event for it yet, and the events are not looked up.
    """
    # An occurrence of a series shows the series' access (its one grant) and the series' door
    # events within its own access window.
    series = (
        series_store.series(session, reservation.series_id)
        if reservation.series_id is not None
        else None
    )
    resource = repo.resource(session, reservation.resource_id)
    assert resource is not None  # a foreign key guarantees it
    window = usage.window_of(reservation, resource)
    ref = series.ref if series is not None else reservation.ref
    events: list[AccessEvent] = []
    if not new:
        events = [
            e
            for e in repo.events_of(session, reservation.tenant_id, ref)
            if series is None or window.start <= e.at < window.end
        ]
    return ReservationOut(
        id=reservation.id,
        ref=reservation.ref,
        status=reservation.status,
        resource_id=reservation.resource_id,
        start=reservation.start_at,
        end=reservation.end_at,
        version=reservation.version,
        cancellation_charged=reservation.cancellation_charged,
        customer=contact_out(reservation),
        access=access_out(ctx, series if series is not None else reservation),
        price=prices.stored_quote(reservation),
        locale="en" if reservation.locale == "en" else "nb",
        decision_reason=reservation.decision_reason,
        events=[
            EventOut(at=e.at, door=e.door, door_name=e.door_name, kind=e.kind, reason=e.reason)
            for e in events
        ],
        decision=decision_out(reservation),
        series_id=reservation.series_id,
        usage=usage.usage_state(
            status=reservation.status,
            operation=resource.access_operation,
            window=window,
            uses=[e.at for e in events if e.kind in usage.USE_KINDS],
            now=ctx.clock.now(),
        ),
    )


def hub_ref(session: Session, reservation: Reservation) -> str:
    """Returns the ref the hub knows a reservation by: its own, or its series' (one grant)."""
    if reservation.series_id is None:
        return reservation.ref
    series = series_store.series(session, reservation.series_id)
    assert series is not None  # a foreign key guarantees it
    return series.ref


def access_out(ctx: BookingContext, row: Reservation | Series) -> AccessOut:
    """Returns the access of a reservation or a series as the customer sees it."""
    secret = open_access_secret(ctx, row.access_secret_sealed)
    return AccessOut(
        state=row.access_state,
        credential=row.access_credential,
        code=secret.get("code"),
        code_formatted=secret.get("code_formatted"),
        url=secret.get("url"),
        mobile_key=secret.get("mobile_key"),
        error=row.access_error,
    )
