"""The customers' secret calendar feeds (`booking_calendar_feeds`).

One live feed a customer: making a new one replaces the old token (the old URL stops at once).
Only the token's SHA-256 is stored; the feed is found by it on every fetch (unique index).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from hallkey.booking.models import Base
from hallkey.core.db import UTCDateTime


class CalendarFeed(Base):
    """A customer's secret iCalendar feed of their own reservations."""

    __tablename__ = "booking_calendar_feeds"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("booking_tenants.id"), index=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("booking_customers.id"), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Who made the current token: `customer` or a staff principal's actor.
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
