"""Creating the booking system's configuration: tenants, venues, resources, tokens, staff.

Used by the demo seeding, the CLI and tests. Each function takes the caller's session,
does not commit, and returns the new id (or a one-time plaintext token).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from hallkey.booking import domain, rules
from hallkey.booking import scopes as booking_scopes
from hallkey.booking.models import (
    ApiToken,
    Customer,
    Resource,
    Tenant,
    TenantHostname,
    Venue,
)
from hallkey.booking.schemas import (
    clean_name,
    normalise_email,
    normalise_org_number,
    normalise_phone,
)
from hallkey.core.errors import Conflict, InvalidInput, NotFound
from hallkey.core.ids import new_id
from hallkey.core.security import issue_api_key

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from hallkey.booking.context import BookingContext

log = logging.getLogger(__name__)

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOSTNAME = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$")
MAX_BOOKING_MINUTES_LIMIT = 366 * 24 * 60
MAX_HORIZON_DAYS = 3660


def _hostnames(values: Sequence[str]) -> list[str]:
    result = sorted({value.strip().lower().rstrip(".") for value in values})
    for value in result:
        if len(value) > 253 or not _HOSTNAME.match(value):
            raise InvalidInput("hostnames must be DNS host names", field="hostnames")
    return result


def set_tenant_hostnames(
    ctx: BookingContext, session: Session, *, tenant_id: str, hostnames: Sequence[str]
) -> list[str]:
    """Returns the tenant's host names, set to these; a name another tenant has is a 409."""
    if session.get(Tenant, tenant_id) is None:
        raise NotFound("unknown tenant", field="tenant_id")
    wanted = _hostnames(hostnames)
    for name in wanted:
        taken = session.get(TenantHostname, name)
        if taken is not None and taken.tenant_id != tenant_id:
            raise Conflict("another tenant has this host name", field="hostnames")
    for row in session.scalars(select(TenantHostname).where(TenantHostname.tenant_id == tenant_id)):
        if row.hostname not in wanted:
            session.delete(row)
    session.flush()
    for name in wanted:
        if session.get(TenantHostname, name) is None:
            session.add(TenantHostname(hostname=name, tenant_id=tenant_id))
    session.flush()
    return wanted


def create_tenant(
    ctx: BookingContext,
    session: Session,
    *,
    name: str,
    slug: str,
    hub_url: str,
    hub_api_key: str,
    timezone: str = "Europe/Oslo",
    hostnames: Sequence[str] = (),
) -> str:
    """Returns the id of a new tenant whose client key at the hub is stored sealed.

    `hostnames` are the host names its public pages and API answer under (may be none).
    """
    if not _SLUG.match(slug):
        raise InvalidInput("slug must be lowercase letters, digits and dashes", field="slug")
    domain.zone(timezone)
    if session.scalars(select(Tenant.id).where(Tenant.slug == slug)).first() is not None:
        raise Conflict("a tenant with this slug exists", field="slug")
    tenant = Tenant(
        id=new_id("ten"),
        name=name,
        slug=slug,
        timezone=timezone,
        hub_url=hub_url.rstrip("/"),
        hub_api_key_sealed=ctx.box.seal(hub_api_key),
        created_at=ctx.clock.now(),
    )
    session.add(tenant)
    session.flush()
    set_tenant_hostnames(ctx, session, tenant_id=tenant.id, hostnames=hostnames)
    log.info("tenant %s created", tenant.id)
    return tenant.id


def create_venue(
    ctx: BookingContext,
    session: Session,
    *,
    tenant_id: str,
    name: str,
    address: str = "",
    timezone: str | None = None,
) -> str:
    """Returns the id of a new venue (time zone: the tenant's unless given)."""
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound("unknown tenant", field="tenant_id")
    zone_name = timezone or tenant.timezone or ctx.settings.default_timezone
    domain.zone(zone_name)
    venue = Venue(
        id=new_id("ven"),
        tenant_id=tenant_id,
        name=name,
        address=address,
        timezone=zone_name,
        created_at=ctx.clock.now(),
    )
    session.add(venue)
    session.flush()
    return venue.id


def check_resource_rules(
    *,
    credential: str,
    access_before_minutes: int,
    access_after_minutes: int,
    min_booking_minutes: int,
    max_booking_minutes: int,
    horizon_days: int,
    access_operation: str = "code",
) -> None:
    """Raises InvalidInput naming the first of a resource's rules that is out of bounds."""
    if credential not in domain.CREDENTIALS:
        raise InvalidInput("unknown credential type", field="credential")
    if access_operation not in domain.ACCESS_OPERATIONS:
        raise InvalidInput("must be code or unlock", field="access_operation")
    if not 0 <= access_before_minutes <= 24 * 60:
        raise InvalidInput("must be 0 to 1440 minutes", field="access_before_minutes")
    if not 0 <= access_after_minutes <= 24 * 60:
        raise InvalidInput("must be 0 to 1440 minutes", field="access_after_minutes")
    if not 1 <= max_booking_minutes <= MAX_BOOKING_MINUTES_LIMIT:
        raise InvalidInput("must be 1 minute to 366 days", field="max_booking_minutes")
    if not 1 <= min_booking_minutes <= max_booking_minutes:
        raise InvalidInput("must be 1 minute to the longest booking", field="min_booking_minutes")
    if not 1 <= horizon_days <= MAX_HORIZON_DAYS:
        raise InvalidInput(f"must be 1 to {MAX_HORIZON_DAYS} days", field="horizon_days")


def create_resource(
    ctx: BookingContext,
    session: Session,
    *,
    venue_id: str,
    name: str,
    door_ids: list[str],
    credential: str = "pin",
    access_operation: str = "code",
    access_before_minutes: int = 15,
    access_after_minutes: int = 15,
    opening_hours: dict[str, list[list[str]]] | None = None,
    approval_required: bool = False,
    min_booking_minutes: int = 15,
    max_booking_minutes: int = 24 * 60,
    horizon_days: int = 365,
    active: bool = True,
    closed_periods: Sequence[Mapping[str, Any]] | None = None,
    public_holidays_closed: bool = False,
    slot_minutes: int | None = None,
    lead_minutes: int = 0,
    buffer_minutes: int = 0,
    max_open_bookings: int | None = None,
    free_cancellation_hours: int | None = None,
) -> str:
    """Returns the id of a new bookable resource of a venue, opened by the given hub doors.

    A booking lasts `min_booking_minutes` to `max_booking_minutes` and starts at most
    `horizon_days` ahead; the other rules are those of `hallkey.booking.rules`.
    """
    venue = session.get(Venue, venue_id)
    if venue is None:
        raise NotFound("unknown venue", field="venue_id")
    check_resource_rules(
        credential=credential,
        access_before_minutes=access_before_minutes,
        access_after_minutes=access_after_minutes,
        min_booking_minutes=min_booking_minutes,
        max_booking_minutes=max_booking_minutes,
        horizon_days=horizon_days,
        access_operation=access_operation,
    )
    rules.check_rule_values(
        slot_minutes=slot_minutes,
        lead_minutes=lead_minutes,
        buffer_minutes=buffer_minutes,
        max_open_bookings=max_open_bookings,
        free_cancellation_hours=free_cancellation_hours,
    )
    resource = Resource(
        id=new_id("res"),
        tenant_id=venue.tenant_id,
        venue_id=venue.id,
        name=name,
        door_ids=[str(door) for door in door_ids],
        credential=credential,
        access_operation=access_operation,
        access_before_minutes=access_before_minutes,
        access_after_minutes=access_after_minutes,
        opening_hours=domain.validate_opening_hours(opening_hours),
        approval_required=approval_required,
        min_booking_minutes=min_booking_minutes,
        max_booking_minutes=max_booking_minutes,
        horizon_days=horizon_days,
        closed_periods=rules.validate_closed_periods(closed_periods),
        public_holidays_closed=public_holidays_closed,
        slot_minutes=slot_minutes,
        lead_minutes=lead_minutes,
        buffer_minutes=buffer_minutes,
        max_open_bookings=max_open_bookings,
        free_cancellation_hours=free_cancellation_hours,
        active=active,
        created_at=ctx.clock.now(),
    )
    session.add(resource)
    session.flush()
    return resource.id


def issue_api_token(
    ctx: BookingContext,
    session: Session,
    *,
    tenant_id: str,
    name: str,
    scopes: Sequence[str] = (booking_scopes.STAFF,),
) -> str:
    """Returns a new booking API token of the tenant in plaintext (only its hash is kept).

    It may do what its `scopes` (`hallkey.booking.scopes`) allow: by default what staff do;
    the hub's token for door events gets `events:write` alone.
    """
    if session.get(Tenant, tenant_id) is None:
        raise NotFound("unknown tenant", field="tenant_id")
    try:
        granted = booking_scopes.validate(scopes)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="scopes") from None
    issued = issue_api_key("hkb")
    session.add(
        ApiToken(
            id=new_id("tok"),
            tenant_id=tenant_id,
            name=name,
            key_id=issued.key_id,
            secret_hash=issued.secret_hash,
            scopes=granted,
            created_at=ctx.clock.now(),
        )
    )
    session.flush()
    return issued.plaintext


def tenant_exists(ctx: BookingContext, session: Session, *, slug: str) -> bool:
    """Tells whether a tenant with this slug exists."""
    return session.scalars(select(Tenant.id).where(Tenant.slug == slug)).first() is not None


def create_customer(
    ctx: BookingContext,
    session: Session,
    *,
    tenant_id: str,
    name: str,
    phone: str,
    email: str,
    organisation: str | None = None,
    org_number: str | None = None,
) -> str:
    """Returns the id of the tenant's customer with this e-mail, created or updated."""
    if session.get(Tenant, tenant_id) is None:
        raise NotFound("unknown tenant", field="tenant_id")
    try:
        name = clean_name(name)
    except ValueError as exc:
        raise InvalidInput(f"name {exc}", field="name") from None
    try:
        organisation = None if organisation is None else clean_name(organisation)
    except ValueError as exc:
        raise InvalidInput(f"organisation {exc}", field="organisation") from None
    try:
        phone = normalise_phone(phone)
    except ValueError:
        raise InvalidInput("phone is not a valid phone number", field="phone") from None
    try:
        email = normalise_email(email)
    except ValueError:
        raise InvalidInput("email is not a valid e-mail address", field="email") from None
    try:
        org_number = None if org_number is None else normalise_org_number(org_number)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="org_number") from None
    now = ctx.clock.now()
    customer = session.scalars(
        select(Customer).where(Customer.tenant_id == tenant_id, Customer.email == email)
    ).first()
    if customer is None:
        customer = Customer(id=new_id("cus"), tenant_id=tenant_id, email=email, created_at=now)
        session.add(customer)
    customer.name = name
    customer.phone = phone
    customer.organisation = organisation
    customer.org_number = org_number
    customer.kind = "organisation" if org_number else "person"
    customer.updated_at = now
    session.flush()
    return customer.id
