"""The tables of application rounds (seasonal allocation): rounds, the organisations'
applications, their wishes and the case officers' allocations (all named `booking_round…`).

Hot paths and their indexes:
- A tenant's rounds by deadline: (tenant_id, deadline_at).
- A round's applications and wishes: round_id on each; wishes also (round_id, resource_id,
  weekday) for the overview's clash groups.
- An application by its secret key (the applicant's link): unique index on the key's hash.
- An allocation by its wish (one each): unique wish_id; a round's allocations per slot group:
  (round_id, resource_id, weekday) for the overlap check.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hallkey.booking.models import Base
from hallkey.core.db import UTCDateTime


class Round(Base):
    """A season's application round: which resources, for which dates, until when to apply."""

    __tablename__ = "booking_rounds"
    __table_args__ = (Index("ix_booking_rounds_tenant_deadline", "tenant_id", "deadline_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("booking_tenants.id"))
    name: Mapped[str] = mapped_column(String(200))
    # The season, in the venues' local dates, both inclusive.
    period_from: Mapped[date] = mapped_column(Date)
    period_to: Mapped[date] = mapped_column(Date)
    resource_ids: Mapped[list[str]] = mapped_column(JSON)
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Set by the first publish; allocations are frozen from then on.
    publish_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Set once every allocation has its series (a publish that failed halfway leaves it null).
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RoundApplication(Base):
    """One organisation's application to a round (personal data: the contact's e-mail and
    phone)."""

    __tablename__ = "booking_round_applications"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("booking_tenants.id"), index=True)
    round_id: Mapped[str] = mapped_column(ForeignKey("booking_rounds.id"), index=True)
    # The signed-in customer who applied, if any (they then see it under /me/applications).
    customer_id: Mapped[str | None] = mapped_column(
        ForeignKey("booking_customers.id"), nullable=True, index=True
    )
    organisation: Mapped[str] = mapped_column(String(200))
    org_number: Mapped[str] = mapped_column(String(9))
    email: Mapped[str] = mapped_column(String(320))
    phone: Mapped[str] = mapped_column(String(32))
    locale: Mapped[str] = mapped_column(String(8))
    # SHA-256 of the applicant's secret key (the link in the receipt); the key is never stored.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # When the result e-mail was queued (once: publishing again never sends a second).
    result_queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RoundWish(Base):
    """One weekly slot an application asks for. `status`: `wished`, `allocated`, `declined`."""

    __tablename__ = "booking_round_wishes"
    __table_args__ = (Index("ix_booking_round_wishes_slot", "round_id", "resource_id", "weekday"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    round_id: Mapped[str] = mapped_column(ForeignKey("booking_rounds.id"))
    application_id: Mapped[str] = mapped_column(
        ForeignKey("booking_round_applications.id"), index=True
    )
    resource_id: Mapped[str] = mapped_column(ForeignKey("booking_resources.id"))
    weekday: Mapped[int] = mapped_column(Integer)  # ISO: 1 = Monday … 7 = Sunday
    start_time: Mapped[str] = mapped_column(String(5))  # HH:MM, the venue's wall clock
    end_time: Mapped[str] = mapped_column(String(5))
    priority: Mapped[int] = mapped_column(Integer)  # 1 = most wanted
    age_group: Mapped[str] = mapped_column(String(16))
    participants: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    decline_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class RoundAllocation(Base):
    """What a case officer gives for a wish: the wish's slot, part of it, or another one.
    Published, it becomes a confirmed weekly series (`series_id`)."""

    __tablename__ = "booking_round_allocations"
    __table_args__ = (
        Index("ix_booking_round_allocations_slot", "round_id", "resource_id", "weekday"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    round_id: Mapped[str] = mapped_column(ForeignKey("booking_rounds.id"))
    wish_id: Mapped[str] = mapped_column(ForeignKey("booking_round_wishes.id"), unique=True)
    application_id: Mapped[str] = mapped_column(
        ForeignKey("booking_round_applications.id"), index=True
    )
    resource_id: Mapped[str] = mapped_column(ForeignKey("booking_resources.id"))
    weekday: Mapped[int] = mapped_column(Integer)
    start_time: Mapped[str] = mapped_column(String(5))
    end_time: Mapped[str] = mapped_column(String(5))
    # Publishing: the series made (once), the dates it skipped for existing reservations, or
    # why making it failed (a later publish tries again).
    series_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    skipped_dates: Mapped[list[str]] = mapped_column(JSON, default=list)
    publish_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
