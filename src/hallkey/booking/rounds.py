"""Application rounds: a case officer opens a round for some resources and a season; until its
deadline organisations apply with weekly wishes. Applications never hold time: the resources'
availability is what it was.

An applicant gets a secret key (shown once, and in the receipt e-mail; only its SHA-256 is
stored) that lets them read their own application; a customer signed in when applying sees it
under `/api/v1/me/applications` too. Staff of the tenant with the `decide` scope see all.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import quote

from sqlalchemy import func, or_, select

from hallkey.booking import domain, rounds_calendar, rounds_emails
from hallkey.booking import repository as repo
from hallkey.booking.models import Resource
from hallkey.booking.rounds_models import Round, RoundApplication, RoundWish
from hallkey.booking.rounds_schemas import (
    MAX_PERIOD_DAYS,
    ApplicationCreate,
    ApplicationCreated,
    RoundCreate,
    RoundOut,
    RoundPatch,
    RoundStatus,
)
from hallkey.booking.rounds_views import application_view
from hallkey.core.errors import Conflict, InvalidInput, NotFound
from hallkey.core.ids import new_id
from hallkey.core.security import hash_secret, verify_secret

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from hallkey.booking.context import BookingContext

WISHED = "wished"
ALLOCATED = "allocated"
DECLINED = "declined"


# --- rounds --------------------------------------------------------------------------------


def status_of(round_: Round, now: datetime) -> RoundStatus:
    """Returns where a round stands: open until its deadline, then closed, then published."""
    if round_.published_at is not None:
        return "published"
    if round_.publish_started_at is not None:
        return "publishing"
    return "open" if now < round_.deadline_at else "closed"


def round_out(session: Session, round_: Round, now: datetime) -> RoundOut:
    """Returns the view of a round, with how many applications it has."""
    count = session.scalar(
        select(func.count())
        .select_from(RoundApplication)
        .where(RoundApplication.round_id == round_.id)
    )
    return RoundOut(
        id=round_.id,
        name=round_.name,
        period_from=round_.period_from,
        period_to=round_.period_to,
        resource_ids=list(round_.resource_ids),
        deadline=round_.deadline_at,
        status=status_of(round_, now),
        applications=int(count or 0),
        published_at=round_.published_at,
    )


def get_round(session: Session, tenant_id: str, round_id: str, *, lock: bool = False) -> Round:
    """Returns the tenant's round; raises NotFound (another tenant's round is unknown too)."""
    query = select(Round).where(Round.id == round_id, Round.tenant_id == tenant_id)
    if lock:
        query = query.with_for_update()
    round_ = session.scalars(query).first()
    if round_ is None:
        raise NotFound("unknown round")
    return round_


def list_rounds(session: Session, tenant_id: str, now: datetime) -> list[RoundOut]:
    """Returns the tenant's rounds, the latest deadline first."""
    rounds = session.scalars(
        select(Round).where(Round.tenant_id == tenant_id).order_by(Round.deadline_at.desc())
    ).all()
    return [round_out(session, round_, now) for round_ in rounds]


def _check_round(
    session: Session, tenant_id: str, round_: Round, now: datetime, *, new_deadline: bool
) -> None:
    """Raises InvalidInput naming the field when the round's period, deadline or resources
    are not what a round needs."""
    if round_.period_to < round_.period_from:
        raise InvalidInput("period_to must not be before period_from", field="period_to")
    if (round_.period_to - round_.period_from).days >= MAX_PERIOD_DAYS:
        raise InvalidInput(f"a round lasts at most {MAX_PERIOD_DAYS} days", field="period_to")
    if new_deadline and round_.deadline_at <= now:
        raise InvalidInput("deadline must be in the future", field="deadline")
    tenant = repo.tenant(session, tenant_id)
    assert tenant is not None
    season = rounds_calendar.period_frame(
        round_.period_from, round_.period_to, domain.zone(tenant.timezone)
    )
    if round_.deadline_at > season.start:
        raise InvalidInput("deadline must be before the period starts", field="deadline")
    found = session.scalars(
        select(Resource.id).where(
            Resource.id.in_(round_.resource_ids),
            Resource.tenant_id == tenant_id,
            Resource.active.is_(True),
        )
    ).all()
    if len(set(found)) != len(set(round_.resource_ids)):
        raise InvalidInput("resource_ids names an unknown resource", field="resource_ids")


def create_round(
    ctx: BookingContext, session: Session, tenant_id: str, body: RoundCreate, actor: str
) -> RoundOut:
    """Opens a round for applications until its deadline."""
    now = ctx.clock.now()
    round_ = Round(
        id=new_id("rnd"),
        tenant_id=tenant_id,
        name=body.name,
        period_from=body.period_from,
        period_to=body.period_to,
        resource_ids=list(body.resource_ids),
        deadline_at=body.deadline,
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    _check_round(session, tenant_id, round_, now, new_deadline=True)
    session.add(round_)
    session.flush()
    return round_out(session, round_, now)


def update_round(
    ctx: BookingContext, session: Session, tenant_id: str, round_id: str, body: RoundPatch
) -> RoundOut:
    """Changes an open round; 409 `round_closed` after its deadline. A resource some wish
    names stays (409 `resource_has_wishes`)."""
    now = ctx.clock.now()
    round_ = get_round(session, tenant_id, round_id, lock=True)
    if status_of(round_, now) != "open":
        raise Conflict("the round is closed: its deadline has passed", code="round_closed")
    changes = body.model_dump(exclude_unset=True)
    for name, value in changes.items():
        if value is None:
            raise InvalidInput(f"{name} cannot be cleared", field=name)
    for name in ("name", "period_from", "period_to", "resource_ids"):
        if name in changes:
            setattr(round_, name, changes[name])
    if body.deadline is not None:
        round_.deadline_at = body.deadline
    if body.resource_ids is not None:
        wished = session.scalars(
            select(RoundWish.resource_id).where(RoundWish.round_id == round_.id).distinct()
        ).all()
        kept = set(body.resource_ids)
        if any(resource_id not in kept for resource_id in wished):
            raise Conflict(
                "a resource that applications wish for cannot leave the round",
                code="resource_has_wishes",
                field="resource_ids",
            )
    _check_round(session, tenant_id, round_, now, new_deadline=body.deadline is not None)
    round_.updated_at = now
    return round_out(session, round_, now)


# --- applications --------------------------------------------------------------------------


def apply(
    ctx: BookingContext,
    session: Session,
    tenant_id: str,
    round_id: str,
    body: ApplicationCreate,
    customer_id: str | None,
) -> ApplicationCreated:
    """Stores an organisation's application with its wishes and queues the receipt; 409
    `round_closed` from the deadline on. Nothing is booked: no time is held."""
    now = ctx.clock.now()
    round_ = get_round(session, tenant_id, round_id)
    if status_of(round_, now) != "open":
        raise Conflict("the round is closed: its deadline has passed", code="round_closed")
    resources = set(round_.resource_ids)
    for index, wish in enumerate(body.wishes):
        if wish.resource_id not in resources:
            raise InvalidInput(
                "the resource is not part of this round", field=f"wishes.{index}.resource_id"
            )
        if wish.end_time <= wish.start_time:
            raise InvalidInput(
                "end_time must be after start_time", field=f"wishes.{index}.end_time"
            )
    key = secrets.token_urlsafe(32)  # 256 bits
    application = RoundApplication(
        id=new_id("app"),
        tenant_id=tenant_id,
        round_id=round_.id,
        customer_id=customer_id,
        organisation=body.organisation.name,
        org_number=body.organisation.org_number,
        email=body.organisation.email,
        phone=body.organisation.phone,
        locale=body.locale,
        key_hash=hash_secret(key),
        created_at=now,
    )
    session.add(application)
    session.flush()
    for wish in body.wishes:
        session.add(
            RoundWish(
                id=new_id("wsh"),
                round_id=round_.id,
                application_id=application.id,
                resource_id=wish.resource_id,
                weekday=wish.weekday,
                start_time=wish.start_time,
                end_time=wish.end_time,
                priority=wish.priority,
                age_group=wish.age_group,
                participants=wish.participants,
                status=WISHED,
            )
        )
    session.flush()
    link = application_link(ctx, session, application, key)
    rounds_emails.enqueue_receipt(ctx, session, application.id, ctx.box.seal(link))
    view = application_view(session, application)
    return ApplicationCreated(**view.model_dump(), key=key, link=link)


def application_link(
    ctx: BookingContext, session: Session, application: RoundApplication, key: str
) -> str:
    """Returns the applicant's link to their application, on the tenant's own host name (or
    the installation's base URL), never the host a request named."""
    hostnames = sorted(repo.hostnames_of(session, application.tenant_id))
    base = f"https://{hostnames[0]}" if hostnames else ctx.settings.base_url.rstrip("/")
    return (
        f"{base}/api/v1/rounds/{application.round_id}/applications/{application.id}"
        f"?key={quote(key)}"
    )


def erase_applicant(session: Session, tenant_id: str, customer_id: str, email: str | None) -> int:
    """Blanks the contact (e-mail and phone) of a customer's applications — those made signed
    in, and those made with their e-mail — when the customer is erased; the organisation and
    its number stay (they name no person). Returns how many were blanked."""
    match = RoundApplication.customer_id == customer_id
    if email:
        match = or_(match, func.lower(RoundApplication.email) == email.lower())
    applications = session.scalars(
        select(RoundApplication).where(RoundApplication.tenant_id == tenant_id, match)
    ).all()
    for application in applications:
        application.email = ""
        application.phone = ""
    return len(applications)


def get_application(
    session: Session, tenant_id: str, round_id: str, application_id: str
) -> RoundApplication:
    """Returns the tenant's application of the round; raises NotFound."""
    application = session.get(RoundApplication, application_id)
    if (
        application is None
        or application.tenant_id != tenant_id
        or application.round_id != round_id
    ):
        raise NotFound("unknown application")
    return application


def application_by_key(
    session: Session, round_id: str, application_id: str, key: str
) -> RoundApplication:
    """Returns the application the applicant's key opens; NotFound alike for an unknown
    application and a wrong key."""
    application = session.get(RoundApplication, application_id)
    if (
        application is None
        or application.round_id != round_id
        or len(key) > 128
        or not verify_secret(key, application.key_hash)
    ):
        raise NotFound("unknown application")
    return application


def unknown_application() -> NotFound:
    """Returns the error for an application the caller may not see (as for an unknown one)."""
    return NotFound("unknown application")
