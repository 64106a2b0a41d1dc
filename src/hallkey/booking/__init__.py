"""hallkey.booking — the municipality's booking system: resources, reservations, access."""

from hallkey.booking.app import build_part
from hallkey.booking.context import BookingContext, create_context
from hallkey.booking.provisioning import (
    create_customer,
    create_resource,
    create_tenant,
    create_venue,
    issue_api_token,
    set_tenant_hostnames,
    tenant_exists,
)
from hallkey.booking.setup import issue_operator_key, revoke_operator_key
from hallkey.booking.staff import create_staff_user

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
    "issue_operator_key",
    "revoke_operator_key",
    "set_tenant_hostnames",
    "tenant_exists",
]
