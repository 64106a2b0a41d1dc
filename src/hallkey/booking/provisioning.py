"""Creating the booking system's configuration: tenants, venues, resources, tokens, staff.

Used by the demo seeding, the CLI and tests. Each function takes the caller's session,
does not commit, and returns the new id (or a one-time plaintext token).
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

from sqlalchemy import select

from hallkey.booking import domain
from hallkey.booking.models import ApiToken, Customer, Resource, StaffUser, Tenant, Venue
from hallkey.booking.schemas import normalise_email, normalise_phone
from hallkey.core.errors import Conflict, InvalidInput, NotFound
from hallkey.core.ids import new_id
from hallkey.core.security import hash_password, issue_api_key

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from hallkey.booking.context import BookingContext

log = logging.getLogger(__name__)

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


def create_tenant(
    ctx: BookingContext,
    session: Session,
    *,
    name: str,
    slug: str,
    hub_url: str,
    hub_api_key: str,
    timezone: str = "Europe/Oslo",
) -> str:
    """Returns the id of a new tenant whose client key at the hub is stored sealed."""
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


def create_resource(
    ctx: BookingContext,
    session: Session,
    *,
    venue_id: str,
    name: str,
    door_ids: list[str],
    credential: str = "pin",
    access_before_minutes: int = 15,
    access_after_minutes: int = 15,
    opening_hours: dict[str, list[list[str]]] | None = None,
    approval_required: bool = False,
) -> str:
    """Returns the id of a new bookable resource of a venue, opened by the given hub doors."""
    venue = session.get(Venue, venue_id)
    if venue is None:
        raise NotFound("unknown venue", field="venue_id")
    if credential not in domain.CREDENTIALS:
        raise InvalidInput("unknown credential type", field="credential")
    if not 0 <= access_before_minutes <= 24 * 60:
        raise InvalidInput("must be 0 to 1440 minutes", field="access_before_minutes")
    if not 0 <= access_after_minutes <= 24 * 60:
        raise InvalidInput("must be 0 to 1440 minutes", field="access_after_minutes")
    resource = Resource(
        id=new_id("res"),
        tenant_id=venue.tenant_id,
        venue_id=venue.id,
        name=name,
        door_ids=[str(door) for door in door_ids],
        credential=credential,
        access_before_minutes=access_before_minutes,
        access_after_minutes=access_after_minutes,
        opening_hours=domain.validate_opening_hours(opening_hours),
        approval_required=approval_required,
        created_at=ctx.clock.now(),
    )
    session.add(resource)
    session.flush()
    return resource.id


def issue_api_token(ctx: BookingContext, session: Session, *, tenant_id: str, name: str) -> str:
    """Returns a new booking API token of the tenant in plaintext (only its hash is kept)."""
    if session.get(Tenant, tenant_id) is None:
        raise NotFound("unknown tenant", field="tenant_id")
    issued = issue_api_key("hkb")
    session.add(
        ApiToken(
            id=new_id("tok"),
            tenant_id=tenant_id,
            name=name,
            key_id=issued.key_id,
            secret_hash=issued.secret_hash,
            created_at=ctx.clock.now(),
        )
    )
    session.flush()
    return issued.plaintext


def create_staff_user(
    ctx: BookingContext,
    session: Session,
    *,
    tenant_id: str,
    username: str,
    password: str,
    role: str = "case_officer",
) -> str:
    """Returns the id of a new staff user with an Argon2-hashed password."""
    if session.get(Tenant, tenant_id) is None:
        raise NotFound("unknown tenant", field="tenant_id")
    if role not in domain.STAFF_ROLES:
        raise InvalidInput("role must be case_officer, caretaker or admin", field="role")
    if session.scalars(select(StaffUser.id).where(StaffUser.username == username)).first():
        raise Conflict("this username is taken", field="username")
    user = StaffUser(
        id=new_id("usr"),
        tenant_id=tenant_id,
        username=username,
        password_hash=hash_password(password),
        role=role,
        created_at=ctx.clock.now(),
    )
    session.add(user)
    session.flush()
    return user.id


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
        phone = normalise_phone(phone)
    except ValueError:
        raise InvalidInput("phone is not a valid phone number", field="phone") from None
    try:
        email = normalise_email(email)
    except ValueError:
        raise InvalidInput("email is not a valid e-mail address", field="email") from None
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
    customer.updated_at = now
    session.flush()
    return customer.id
