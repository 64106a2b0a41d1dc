"""What a round's applications look like to the applicant, the customer and the officer: each
application with its wishes, and each wish with its allocation."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select

from hallkey.booking.rounds_models import Round, RoundAllocation, RoundApplication, RoundWish
from hallkey.booking.rounds_schemas import AllocationOut, ApplicationOut, WishOut

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def allocation_out(allocation: RoundAllocation) -> AllocationOut:
    """Returns the view of an allocation."""
    return AllocationOut(
        id=allocation.id,
        wish_id=allocation.wish_id,
        application_id=allocation.application_id,
        resource_id=allocation.resource_id,
        weekday=allocation.weekday,
        start_time=allocation.start_time,
        end_time=allocation.end_time,
        series_id=allocation.series_id,
        skipped_dates=[datetime.fromisoformat(d).date() for d in allocation.skipped_dates],
        publish_error=allocation.publish_error,
    )


def wish_out(wish: RoundWish, allocation: RoundAllocation | None) -> WishOut:
    """Returns the view of a wish with its allocation, if any."""
    return WishOut(
        id=wish.id,
        resource_id=wish.resource_id,
        weekday=wish.weekday,
        start_time=wish.start_time,
        end_time=wish.end_time,
        priority=wish.priority,
        age_group=wish.age_group,
        participants=wish.participants,
        status=wish.status,
        decline_reason=wish.decline_reason,
        allocation=allocation_out(allocation) if allocation is not None else None,
    )


def wishes_of(
    session: Session, application_ids: Sequence[str]
) -> dict[str, list[tuple[RoundWish, RoundAllocation | None]]]:
    """Returns the wishes of the applications (by priority) with their allocations."""
    rows = session.execute(
        select(RoundWish, RoundAllocation)
        .outerjoin(RoundAllocation, RoundAllocation.wish_id == RoundWish.id)
        .where(RoundWish.application_id.in_(application_ids))
        .order_by(RoundWish.priority, RoundWish.id)
    ).all()
    result: dict[str, list[tuple[RoundWish, RoundAllocation | None]]] = {
        application_id: [] for application_id in application_ids
    }
    for wish, allocation in rows:
        result[wish.application_id].append((wish, allocation))
    return result


def application_view(session: Session, application: RoundApplication) -> ApplicationOut:
    """Returns the view of one application with its wishes."""
    wishes = wishes_of(session, [application.id])[application.id]
    return _view(application, wishes)


def _view(
    application: RoundApplication, wishes: list[tuple[RoundWish, RoundAllocation | None]]
) -> ApplicationOut:
    return ApplicationOut(
        id=application.id,
        round_id=application.round_id,
        organisation=application.organisation,
        org_number=application.org_number,
        email=application.email,
        phone=application.phone,
        created_at=application.created_at,
        wishes=[wish_out(wish, allocation) for wish, allocation in wishes],
    )


def list_applications(session: Session, round_: Round) -> list[ApplicationOut]:
    """Returns a round's applications, the oldest first."""
    applications = session.scalars(
        select(RoundApplication)
        .where(RoundApplication.round_id == round_.id)
        .order_by(RoundApplication.created_at, RoundApplication.id)
    ).all()
    wishes = wishes_of(session, [a.id for a in applications])
    return [_view(a, wishes[a.id]) for a in applications]


def customer_applications(session: Session, customer_id: str) -> list[ApplicationOut]:
    """Returns the applications a customer made while signed in, the newest first."""
    applications = session.scalars(
        select(RoundApplication)
        .where(RoundApplication.customer_id == customer_id)
        .order_by(RoundApplication.created_at.desc(), RoundApplication.id)
    ).all()
    wishes = wishes_of(session, [a.id for a in applications])
    return [_view(a, wishes[a.id]) for a in applications]
