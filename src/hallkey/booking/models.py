"""The booking context's tables (all named `booking_…`).

Hot paths and their indexes:
- API token lookup by `key_id` on every authenticated request: unique index on key_id.
- The conflict check and availability: (resource_id, start_at, end_at) on reservations
  (and, on PostgreSQL, the GiST exclusion constraint the migration adds).
- Reservations by ref (events, hub traffic): unique index on ref.
- Customer reuse by e-mail within a tenant: unique (tenant_id, email).
- A reservation's door events, oldest first: (ref, at) on access events; an event id is
  unique per tenant (the primary key (tenant_id, event_id)).
- A public request's tenant by its Host: the primary key of tenant host names.
- A session cookie on every signed-in request: unique index on its secret's hash.
- Sign-in by (tenant, username): unique (tenant_id, username).
- The staff's reservation list (start_at, id order, cursor paged): (tenant_id, start_at, id),
  and (tenant_id, status, start_at, id) for the case officer's requests.
- A customer sign-in link or session by its token: unique index on the token's hash.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from hallkey.core.db import UTCDateTime, make_metadata
from hallkey.core.jobs import job_table
from hallkey.core.operators import operator_key_table


class Base(DeclarativeBase):
    metadata = make_metadata()


class Tenant(Base):
    __tablename__ = "booking_tenants"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    timezone: Mapped[str] = mapped_column(String(64))
    hub_url: Mapped[str] = mapped_column(String(500))
    # The tenant's client key at the hub, sealed with the context's SecretBox.
    hub_api_key_sealed: Mapped[str] = mapped_column(Text)
    # The secret with which the hub signs its webhook messages to this tenant, sealed.
    hub_webhook_secret_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The From of the tenant's emails to its customers (`Name <address>`); None: the
    # process's `HALLKEY_BOOKING_EMAIL_FROM`.
    email_from: Mapped[str | None] = mapped_column(String(320), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TenantHostname(Base):
    """A host name under which the tenant's public pages and API answer (one tenant each)."""

    __tablename__ = "booking_tenant_hostnames"

    hostname: Mapped[str] = mapped_column(String(253), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("booking_tenants.id"), index=True)


class StaffUser(Base):
    """A person who works for a tenant: `admin`, `case_officer` or `caretaker`."""

    __tablename__ = "booking_staff_users"
    # Unique per tenant: two municipalities may each have their "ola", and a taken name must
    # not tell one tenant that another tenant has that person.
    __table_args__ = (
        UniqueConstraint("tenant_id", "username", name="uq_booking_staff_users_tenant_username"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("booking_tenants.id"), index=True)
    username: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    # A caretaker's venues (what it may see); empty for the other roles (the whole tenant).
    venue_ids: Mapped[list[str]] = mapped_column(JSON, server_default="[]")
    # A disabled person can neither sign in nor use their sessions or personal tokens.
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class StaffSession(Base):
    """A signed-in staff member's session; only a hash of its cookie's secret is kept."""

    __tablename__ = "booking_staff_sessions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(128), unique=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("booking_tenants.id"))
    staff_user_id: Mapped[str] = mapped_column(ForeignKey("booking_staff_users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ApiToken(Base):
    __tablename__ = "booking_api_tokens"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("booking_tenants.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    key_id: Mapped[str] = mapped_column(String(40), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(128))
    # What the token may do (`hallkey.booking.scopes`), e.g. ["staff"] or ["events:write"].
    scopes: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # A staff member's personal token acts as them (their role and venues bound it); null for
    # an integration's token.
    staff_user_id: Mapped[str | None] = mapped_column(
        ForeignKey("booking_staff_users.id"), nullable=True, index=True
    )


class Venue(Base):
    __tablename__ = "booking_venues"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("booking_tenants.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(500))
    timezone: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Resource(Base):
    __tablename__ = "booking_resources"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("booking_tenants.id"), index=True)
    venue_id: Mapped[str] = mapped_column(ForeignKey("booking_venues.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    door_ids: Mapped[list[str]] = mapped_column(JSON)
    credential: Mapped[str] = mapped_column(String(20))
    # `code`: each booking gets its credential; `unlock`: the doors stand open for the
    # booking's frame (a public event) and lock again after, with nothing to hand out.
    access_operation: Mapped[str] = mapped_column(String(16), server_default="code")
    access_before_minutes: Mapped[int] = mapped_column(Integer)
    access_after_minutes: Mapped[int] = mapped_column(Integer)
    opening_hours: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    approval_required: Mapped[bool] = mapped_column(Boolean)
    # Booking rules: shortest and longest booking, and how far ahead one may start.
    min_booking_minutes: Mapped[int] = mapped_column(Integer, server_default="15")
    max_booking_minutes: Mapped[int] = mapped_column(Integer, server_default="1440")
    horizon_days: Mapped[int] = mapped_column(Integer, server_default="365")
    # More rules (`hallkey.booking.rules`): closed local dates `[{"from", "to", "reason"}]`
    # (inclusive), Norway's public holidays closed, the slot grid (null: none), how late one
    # may book (minutes before the start), the cleaning buffer after each booking, open
    # bookings per customer (null: no limit), free cancellation until N hours before (null:
    # always free).
    closed_periods: Mapped[list[dict[str, Any]]] = mapped_column(JSON, server_default="[]")
    public_holidays_closed: Mapped[bool] = mapped_column(Boolean, server_default=false())
    slot_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    lead_minutes: Mapped[int] = mapped_column(Integer, server_default="0")
    buffer_minutes: Mapped[int] = mapped_column(Integer, server_default="0")
    max_open_bookings: Mapped[int | None] = mapped_column(Integer, nullable=True)
    free_cancellation_hours: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # An inactive resource takes no new bookings and is not offered; its reservations stay.
    active: Mapped[bool] = mapped_column(Boolean, server_default=true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ResourcePrice(Base):
    """The price of a resource for one price group (by its key): net øre per hour or per
    booking, with the VAT rate in basis points (2500 = 25 %)."""

    __tablename__ = "booking_prices"

    resource_id: Mapped[str] = mapped_column(ForeignKey("booking_resources.id"), primary_key=True)
    price_group: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("booking_tenants.id"), index=True)
    unit: Mapped[str] = mapped_column(String(8))
    amount_ore: Mapped[int] = mapped_column(BigInteger)
    vat_basis_points: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


def _default_block_end(context: Any) -> Any:
    return context.get_current_parameters()["end_at"]


class Customer(Base):
    __tablename__ = "booking_customers"
    __table_args__ = (UniqueConstraint("tenant_id", "email", name="uq_booking_customers_email"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("booking_tenants.id"), index=True)
    # Personal data; all null once the customer is erased (the reservations stay).
    name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(32), nullable=True)
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    organisation: Mapped[str | None] = mapped_column(String(200), nullable=True)
    org_number: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # `person` or `organisation` (which has an org number and contact persons).
    kind: Mapped[str] = mapped_column(String(16), server_default="person")
    # The key of the tenant's price group (`booking_price_groups.key`); None: no group.
    price_group: Mapped[str | None] = mapped_column(String(40), nullable=True)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Reservation(Base):
    __tablename__ = "booking_reservations"
    __table_args__ = (
        Index("ix_booking_reservations_resource_span", "resource_id", "start_at", "end_at"),
        Index("ix_booking_reservations_tenant_start", "tenant_id", "start_at", "id"),
        Index("ix_booking_reservations_tenant_status", "tenant_id", "status", "start_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("booking_tenants.id"), index=True)
    resource_id: Mapped[str] = mapped_column(ForeignKey("booking_resources.id"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("booking_customers.id"), index=True)
    # Who this booking was made by and where its key goes (a club's members book under the
    # club's customer with their own phones). Personal data: null once the customer is erased.
    contact_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    contact_phone: Mapped[str | None] = mapped_column(String(32), nullable=True)
    contact_email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    # False when the booking used an existing customer's e-mail with other contact data and
    # without proving to be them: it is linked to that customer but never changes their record,
    # and their export lists it without the booker's name and phone.
    contact_is_customer: Mapped[bool] = mapped_column(Boolean, server_default=true())
    ref: Mapped[str] = mapped_column(String(40), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime())
    end_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The end of the time the reservation holds: its end plus the resource's cleaning buffer
    # when it was booked or last moved. Two holding reservations' [start_at, block_end_at)
    # never overlap (on PostgreSQL the exclusion constraint guarantees it). Left out, it is
    # end_at (no buffer); the booking paths always set it.
    block_end_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_default_block_end)
    # Cancelled later than the resource's free cancellation allows (the accounts read it).
    cancellation_charged: Mapped[bool] = mapped_column(Boolean, server_default=false())
    version: Mapped[int] = mapped_column(Integer)
    access_state: Mapped[str] = mapped_column(String(16))
    access_credential: Mapped[str] = mapped_column(String(20))
    # JSON {code, code_formatted, url?, mobile_key?} sealed with the SecretBox.
    access_secret_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    access_error: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Set when its first push to the hub is queued (`service.enqueue_sync`), so that a later
    # cancel knows a grant may exist.
    access_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # The language of the customer's emails (`nb` or `en`).
    locale: Mapped[str] = mapped_column(String(8), server_default="nb")
    # A case officer's decision on a request: who (a principal's actor), when, and why (a
    # denial's reason, told to the customer).
    decided_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    decision_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    # What the booking costs (`hallkey.booking.pricing`), in øre, for its price group as it is
    # now (a move recomputes it); all null for a resource without prices.
    price_group: Mapped[str | None] = mapped_column(String(40), nullable=True)
    price_unit: Mapped[str | None] = mapped_column(String(8), nullable=True)
    price_net_ore: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    price_vat_ore: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    price_gross_ore: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    price_vat_basis_points: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # The series this reservation is an occurrence of (`series_models.Series`); null for a
    # single booking. An occurrence's access is the series' one grant.
    series_id: Mapped[str | None] = mapped_column(
        ForeignKey("booking_series.id"), nullable=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AccessEvent(Base):
    __tablename__ = "booking_access_events"
    __table_args__ = (Index("ix_booking_access_events_ref_at", "ref", "at"),)

    # The sender's event id, unique per tenant: receiving the same event twice stores it once,
    # and one tenant's ids never shadow another's.
    tenant_id: Mapped[str] = mapped_column(ForeignKey("booking_tenants.id"), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    ref: Mapped[str | None] = mapped_column(String(64), nullable=True)
    door: Mapped[str] = mapped_column(String(64))
    door_name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(String(64), nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())


class WebhookReceipt(Base):
    """A hub webhook message taken (by its `webhook-id`): a repeat of it changes nothing."""

    __tablename__ = "booking_webhook_receipts"

    tenant_id: Mapped[str] = mapped_column(ForeignKey("booking_tenants.id"), primary_key=True)
    webhook_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Indexed for the purge of receipts past RECEIPT_KEEP (hub_webhook.py).
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class PriceGroup(Base):
    """A group of customers priced alike (private, organisation, youth, business); a group may
    require every booking of its customers to be approved."""

    __tablename__ = "booking_price_groups"
    __table_args__ = (UniqueConstraint("tenant_id", "key", name="uq_booking_price_groups_key"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("booking_tenants.id"), index=True)
    key: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    requires_approval: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CustomerContact(Base):
    """A contact person of an organisation (personal data: deleted when the customer is)."""

    __tablename__ = "booking_customer_contacts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("booking_customers.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(32), nullable=True)
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CustomerSignIn(Base):
    """A customer's one-time sign-in link (`kind` "link", 15 minutes, used once) or the
    session it turned into (`kind` "session"). Only the token's SHA-256 is stored."""

    __tablename__ = "booking_customer_sign_ins"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("booking_tenants.id"), index=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("booking_customers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


jobs_table = job_table(Base.metadata, "booking_jobs")
operator_keys_table = operator_key_table(Base.metadata, "booking_operator_keys")

# The tables of their own modules register on the same metadata (after Base exists).
from hallkey.booking import series_models  # noqa: E402, F401
