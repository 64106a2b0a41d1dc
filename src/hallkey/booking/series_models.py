"""The table of a club's weekly season: `booking_series` (its occurrences are reservations).

A series keeps its rule (weekdays, local times, dates, every N weeks, exceptions), the
customer and contact it was made for, and its one `ref`: the hub knows only this ref, with one
grant whose windows are the live occurrences. Each occurrence is a `booking_reservations` row
with `series_id` set (indexed), so the conflict check, the desk and prices see it like any
booking; it keeps its own unique ref for the booking's internal use (its calendar entry).

Hot paths: a series by id (primary key), by ref (door events: unique index), its occurrences
(`ix_booking_reservations_series_id`).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text, true
from sqlalchemy.orm import Mapped, mapped_column

from hallkey.booking.models import Base
from hallkey.core.db import UTCDateTime


class Series(Base):
    """A weekly series of reservations of one resource for one customer, with one key."""

    __tablename__ = "booking_series"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("booking_tenants.id"), index=True)
    resource_id: Mapped[str] = mapped_column(ForeignKey("booking_resources.id"), index=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("booking_customers.id"), index=True)
    # Who the series was made for and where its key goes; null once the customer is erased.
    contact_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    contact_phone: Mapped[str | None] = mapped_column(String(32), nullable=True)
    contact_email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    contact_is_customer: Mapped[bool] = mapped_column(Boolean, server_default=true())
    ref: Mapped[str] = mapped_column(String(40), unique=True)
    # `requested` (as a whole), `confirmed`, `denied` or `cancelled`.
    status: Mapped[str] = mapped_column(String(16))
    # The rule: ISO weekdays (1 = Monday), local wall times "HH:MM", local dates (inclusive).
    weekdays: Mapped[list[int]] = mapped_column(JSON)
    start_time: Mapped[str] = mapped_column(String(5))
    end_time: Mapped[str] = mapped_column(String(5))
    from_date: Mapped[date] = mapped_column(Date)
    to_date: Mapped[date] = mapped_column(Date)
    every_weeks: Mapped[int] = mapped_column(Integer)
    except_dates: Mapped[list[str]] = mapped_column(JSON, server_default="[]")
    # Bumped by every change of the series or of one of its occurrences; the hub's revision.
    version: Mapped[int] = mapped_column(Integer)
    access_state: Mapped[str] = mapped_column(String(16))
    access_credential: Mapped[str] = mapped_column(String(20))
    # JSON {code, code_formatted, url?, mobile_key?} sealed with the SecretBox.
    access_secret_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    access_error: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Set before the first GrantAccess call, so a later cancel knows a grant may exist.
    access_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    locale: Mapped[str] = mapped_column(String(8), server_default="nb")
    decided_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    decision_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    price_group: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
