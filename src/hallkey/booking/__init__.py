"""hallkey.booking — the municipality's booking system: resources, reservations, access."""

from hallkey.booking.app import build_part
from hallkey.booking.context import BookingContext, create_context
from hallkey.booking.provisioning import (
    create_customer,
    create_resource,
    create_staff_user,
    create_tenant,
    create_venue,
    issue_api_token,
    set_tenant_hostnames,
    tenant_exists,
)

__all__ = [
    "BookingContext",
    "build_part",
    "create_context",
    "create_customer",
    "create_resource",
    "create_staff_user",
    "create_tenant",
    "create_venue",
    "issue_api_token",
    "set_tenant_hostnames",
    "tenant_exists",
]
