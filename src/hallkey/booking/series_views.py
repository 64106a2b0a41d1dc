"""A series as the API shows it: its rule, its access (the one grant), its occurrences."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from hallkey.booking import series_store as store
from hallkey.booking.reservation_views import access_out, decision_out
from hallkey.booking.schemas import CustomerOut
from hallkey.booking.series import SeriesResult
from hallkey.booking.series_models import Series
from hallkey.booking.series_schemas import OccurrenceOut, SeriesOut

if TYPE_CHECKING:
    from hallkey.booking.context import BookingContext


def series_view(
    ctx: BookingContext,
    session: Session,
    row: Series,
    *,
    result: SeriesResult | None = None,
) -> SeriesOut:
    """Returns the API view of a series: its rule, access, occurrences (and, just made, its
    conflicts and the closed dates it left out)."""
    occurrences = store.occurrences(session, row.id)
    return SeriesOut(
        id=row.id,
        ref=row.ref,
        status=row.status,
        resource_id=row.resource_id,
        weekdays=list(row.weekdays),
        start_time=row.start_time,
        end_time=row.end_time,
        from_date=row.from_date,
        to_date=row.to_date,
        every_weeks=row.every_weeks,
        except_dates=[date.fromisoformat(d) for d in row.except_dates],
        version=row.version,
        customer=_contact(row),
        access=access_out(ctx, row),
        occurrences=[
            OccurrenceOut(id=o.id, start=o.start_at, end=o.end_at, status=o.status)
            for o in occurrences
        ],
        conflicts=result.conflicts if result is not None else [],
        skipped=result.skipped if result is not None else [],
        locale="en" if row.locale == "en" else "nb",
        decision=decision_out(row),
    )


def _contact(row: Series) -> CustomerOut:
    return CustomerOut(
        id=row.customer_id, name=row.contact_name, phone=row.contact_phone, email=row.contact_email
    )
