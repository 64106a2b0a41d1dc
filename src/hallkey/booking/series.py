"""A club's weekly season: many reservations, one ref, one key (`POST /api/v1/series`).

`create_series` expands the rule into local dates (`series_rule`), leaves out the dates the
resource is closed (closed dates and periods, public holidays where its rules say so), and
checks every occurrence with the same check a single booking gets
(`checks.check_booking_rules`: opening hours, slot grid, length, lead time, buffer and
overlap, also with the occurrences of this series already placed). Two rules are about one
booking made now and are read for a season as follows:

- how far ahead (`horizon_days`): the first occurrence must start within it; the later ones
  may reach beyond it (a season is booked ahead by design), up to a year from the first date;
- open bookings per customer (`max_open_bookings`): not applied to a series (made by staff),
  and its occurrences do not count against the customer's single bookings.

An occurrence that cannot be booked is a conflict: with `on_conflict: "fail"` the whole
series is refused (409 listing each), with `"skip"` the rest is booked and the conflicts are
listed. The series' access is one grant at the hub (`sync_series_access`, `series_access`).
Services never commit: the caller owns the transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hallkey.booking import checks, customers, domain, prices, rules, series_emails
from hallkey.booking import repository as repo
from hallkey.booking import series_store as store
from hallkey.booking.models import Reservation, Resource
from hallkey.booking.series_models import Series
from hallkey.booking.series_rule import SeriesRule, local_dates, make_rule, occurrence_frame
from hallkey.booking.series_schemas import (
    ConflictOut,
    SeriesCancel,
    SeriesCreate,
    SkippedOut,
)
from hallkey.booking.service import conflict_from_integrity
from hallkey.core.errors import Conflict, InvalidInput, NotFound
from hallkey.core.ids import new_id, new_ref

if TYPE_CHECKING:
    from hallkey.booking.context import BookingContext

log = logging.getLogger(__name__)

SERIES_STATUSES = ("requested", "confirmed")
_FIELD_OF = {"start": "start_time", "end": "end_time"}


class SeriesConflict(Conflict):
    """409: occurrences of the series cannot be booked; each is listed in `conflicts`."""

    code = "series_conflict"

    def __init__(self, message: str, conflicts: list[ConflictOut]) -> None:
        super().__init__(message)
        self.conflicts = conflicts

    def body(self) -> dict[str, Any]:
        """Returns the error with every conflicting occurrence."""
        data = super().body()
        data["error"]["conflicts"] = [c.model_dump(mode="json") for c in self.conflicts]
        return data


@dataclass
class SeriesResult:
    """A series just made: its row, the occurrences stored, those that could not be booked,
    and the dates left out because the resource is closed."""

    series: Series
    occurrences: list[Reservation]
    conflicts: list[ConflictOut] = field(default_factory=list)
    skipped: list[SkippedOut] = field(default_factory=list)


def _rule_of(data: SeriesCreate) -> SeriesRule:
    return make_rule(
        weekdays=data.weekdays,
        start_time=data.start_time,
        end_time=data.end_time,
        from_date=data.from_date,
        to_date=data.to_date,
        every_weeks=data.every_weeks,
        except_dates=data.except_dates,
    )


def _resource(session: Session, tenant_id: str, resource_id: str) -> Resource:
    resource = repo.resource(session, resource_id)
    if resource is None or resource.tenant_id != tenant_id:
        raise NotFound("unknown resource", field="resource_id")
    if not resource.active:
        raise InvalidInput("this resource takes no new bookings", field="resource_id")
    return resource


def _open_dates(
    rule: SeriesRule, resource_rules: rules.ResourceRules
) -> tuple[list[date], list[SkippedOut]]:
    """Returns the rule's dates the resource is open on, and those it is closed on."""
    days: list[date] = []
    skipped: list[SkippedOut] = []
    for day in local_dates(rule):
        closed = rules.closed_reason(day, resource_rules)
        if closed is None:
            days.append(day)
        else:
            skipped.append(SkippedOut(date=day, reason=closed[0]))
    return days, skipped


def create_series(
    ctx: BookingContext,
    session: Session,
    tenant_id: str,
    data: SeriesCreate,
    *,
    status: str | None = None,
    decided_by: str | None = None,
) -> SeriesResult:
    """Returns a new series with its occurrences, each checked like a single booking.

    `status`: forces the series' status ("confirmed" for an allocation published by an
    application round), else it is `requested` when the resource or the customer's price group
    requires approval and `confirmed` otherwise. `decided_by`: who decided a forced status.
    Raises InvalidInput (422 naming the field), SeriesConflict (409 with every conflict, for
    `on_conflict: "fail"`, or when no occurrence is free).
    """
    if status is not None and status not in SERIES_STATUSES:
        raise ValueError(f"a series is created requested or confirmed, not {status}")
    resource = _resource(session, tenant_id, data.resource_id)
    credential = resource.credential
    venue = repo.venue(session, resource.venue_id)
    assert venue is not None  # a foreign key guarantees it
    tz = domain.zone(venue.timezone)
    rule = _rule_of(data)
    now = ctx.clock.now()
    if rule.from_date < now.astimezone(tz).date():
        raise InvalidInput("from_date must not be in the past", field="from_date")
    resource_rules = checks.rules_of(resource)
    days, skipped = _open_dates(rule, resource_rules)
    if not days:
        raise InvalidInput(
            "the series has no occurrence: no open date between from_date and to_date falls "
            "on its weekdays",
            field="weekdays",
        )
    first = occurrence_frame(rule, days[0], tz)
    try:
        domain.check_rules(first, resource_rules.limits, now)
    except InvalidInput as exc:
        if exc.code == "too_far_ahead":
            raise InvalidInput(exc.message, field="from_date", code=exc.code) from None
    customer, contact_is_customer = customers.attach_customer(
        ctx, session, tenant_id, data.customer
    )
    if status is None:
        needs_approval = resource.approval_required or customers.group_requires_approval(
            session, tenant_id, customer
        )
        status = "requested" if needs_approval else "confirmed"
    group = data.price_group
    if group is None:
        own = customer.price_group
        group = own if own is not None and prices.offers(session, resource.id, own) else None
    row = Series(
        id=new_id("srs"),
        tenant_id=tenant_id,
        resource_id=resource.id,
        customer_id=customer.id,
        contact_name=data.customer.name,
        contact_phone=data.customer.phone,
        contact_email=data.customer.email,
        contact_is_customer=contact_is_customer,
        ref=new_ref(),
        status=status,
        weekdays=list(rule.weekdays),
        start_time=data.start_time,
        end_time=data.end_time,
        from_date=rule.from_date,
        to_date=rule.to_date,
        every_weeks=rule.every_weeks,
        except_dates=sorted(d.isoformat() for d in rule.except_dates),
        version=1,
        access_state="pending",
        access_credential=credential,
        locale=data.locale,
        decided_by=decided_by if decided_by is not None else None,
        decided_at=now if decided_by is not None else None,
        price_group=group,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    _flush(session)
    result = SeriesResult(series=row, occurrences=[], skipped=skipped)
    refusals: list[InvalidInput] = []
    for day in days:
        frame = occurrence_frame(rule, day, tz)
        try:
            frame = domain.validate_frame(frame.start, frame.end, now)
            block_end = checks.check_booking_rules(session, resource, frame, now, horizon=False)
        except (Conflict, InvalidInput) as exc:
            result.conflicts.append(ConflictOut(start=frame.start, end=frame.end, reason=exc.code))
            if isinstance(exc, InvalidInput):
                refusals.append(exc)
            continue
        reservation = _occurrence(row, frame, block_end, now)
        prices.price_reservation(session, reservation, group)
        session.add(reservation)
        # Flushed one by one: the next occurrence's overlap check sees this one.
        _flush(session)
        result.occurrences.append(reservation)
    if not result.occurrences and len(refusals) == len(result.conflicts):
        # Every occurrence breaks a rule of the resource (the times, not the calendar).
        refusal = refusals[0]
        field_name = _FIELD_OF.get(refusal.field or "", refusal.field)
        raise InvalidInput(refusal.message, field=field_name, code=refusal.code)
    if result.conflicts and (data.on_conflict == "fail" or not result.occurrences):
        raise SeriesConflict(
            f"{len(result.conflicts)} occurrences of the series cannot be booked",
            result.conflicts,
        )
    if status == "confirmed":
        store.enqueue_sync(ctx, session, row.id)
    series_emails.enqueue(ctx, session, row, "received" if status == "requested" else "confirmed")
    log.info(
        "series %s (%s) created on %s: %d occurrences, %d conflicts",
        row.id,
        status,
        resource.id,
        len(result.occurrences),
        len(result.conflicts),
    )
    return result


def _occurrence(
    row: Series, frame: domain.Frame, block_end: datetime, now: datetime
) -> Reservation:
    return Reservation(
        id=new_id("bkg"),
        tenant_id=row.tenant_id,
        resource_id=row.resource_id,
        customer_id=row.customer_id,
        contact_name=row.contact_name,
        contact_phone=row.contact_phone,
        contact_email=row.contact_email,
        contact_is_customer=row.contact_is_customer,
        # Its own ref, for the booking's internal use (its calendar entry): the hub and the
        # doors only ever see the series' ref.
        ref=new_ref(),
        status=row.status,
        start_at=frame.start,
        end_at=frame.end,
        block_end_at=block_end,
        version=1,
        access_state="pending",
        access_credential=row.access_credential,
        locale=row.locale,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        series_id=row.id,
        created_at=now,
        updated_at=now,
    )


def _flush(session: Session) -> None:
    try:
        session.flush()
    except IntegrityError as exc:
        raise conflict_from_integrity(exc) from exc


def get_series(session: Session, tenant_id: str, series_id: str, *, lock: bool = False) -> Series:
    """Returns the tenant's series; raises NotFound for another tenant's."""
    row = store.series(session, series_id, lock=lock)
    if row is None or row.tenant_id != tenant_id:
        raise NotFound("unknown series")
    return row


def cancel_series(
    ctx: BookingContext, session: Session, tenant_id: str, series_id: str, data: SeriesCancel
) -> Series:
    """Returns the series with its occurrences from a local date on cancelled (without a
    date: every occurrence not yet begun, and the series itself); its grant follows.
    Cancelling what is cancelled already changes nothing."""
    row = get_series(session, tenant_id, series_id, lock=True)
    if row.status == "denied":
        raise Conflict("a denied series cannot be cancelled", code="not_cancellable")
    resource = repo.resource(session, row.resource_id)
    venue = repo.venue(session, resource.venue_id) if resource is not None else None
    assert resource is not None and venue is not None  # foreign keys guarantee them
    tz = domain.zone(venue.timezone)
    now = ctx.clock.now()
    cancelled = 0
    for occurrence in store.occurrences(session, row.id, lock=True):
        if occurrence.status not in domain.BLOCKING_STATUSES:
            continue
        if data.from_ is not None:
            if occurrence.start_at.astimezone(tz).date() < data.from_:
                continue
        elif occurrence.start_at <= now:
            continue  # begun or over: it happened, and stays in the accounts
        occurrence.cancellation_charged = occurrence.status == "confirmed" and (
            rules.cancellation_charged(occurrence.start_at, now, resource.free_cancellation_hours)
        )
        occurrence.status = "cancelled"
        occurrence.version += 1
        occurrence.updated_at = now
        cancelled += 1
    whole = data.from_ is None or not any(
        o.status in domain.BLOCKING_STATUSES and o.end_at > now
        for o in store.occurrences(session, row.id)
    )
    if whole and row.status != "cancelled":
        row.status = "cancelled"
    elif not cancelled:
        return row
    _flush(session)
    store.mark_changed(ctx, session, row, taking_away=True)
    _flush(session)
    series_emails.enqueue(ctx, session, row, "cancelled")
    log.info("series %s: %d occurrences cancelled (v%d)", row.id, cancelled, row.version)
    return row


def decide_series(
    ctx: BookingContext,
    session: Session,
    tenant_id: str,
    series_id: str,
    *,
    approve: bool,
    actor: str,
    reason: str | None = None,
) -> Series:
    """Returns a requested series confirmed (approve) or denied as a whole, with who decided,
    when and why; a repeat changes nothing, the opposite decision is a 409."""
    row = get_series(session, tenant_id, series_id, lock=True)
    target = "confirmed" if approve else "denied"
    if row.status == target:
        return row
    if row.status != "requested":
        raise Conflict(f"a {row.status} series cannot be {target}", code="not_open")
    now = ctx.clock.now()
    occurrences = store.occurrences(session, row.id, lock=True)
    if approve and not any(o.status == "requested" and o.end_at > now for o in occurrences):
        raise Conflict("the series is already over; it can only be denied", code="ended")
    row.status = target
    row.decided_by = actor
    row.decided_at = now
    row.decision_reason = reason
    for occurrence in occurrences:
        if occurrence.status != "requested":
            continue
        occurrence.status = target
        occurrence.decided_by = actor
        occurrence.decided_at = now
        occurrence.decision_reason = reason
        occurrence.version += 1
        occurrence.updated_at = now
    _flush(session)
    store.mark_changed(ctx, session, row, taking_away=not approve)
    _flush(session)
    series_emails.enqueue(ctx, session, row, "approved" if approve else "denied")
    log.info("series %s %s", row.id, target)
    return row
