"""hallkey.hub: the cloud access hub (clients, sites, doors, grants, deliveries)."""

from hallkey.hub.admins import create_admin
from hallkey.hub.app import build_part
from hallkey.hub.context import HubContext, create_context
from hallkey.hub.credentials.signing import rotate as rotate_signing_key
from hallkey.hub.operator import issue_operator_key, revoke_operator_key
from hallkey.hub.provisioning import create_client, create_door, create_site, set_client_events

__all__ = [
    "HubContext",
    "build_part",
    "create_admin",
    "create_client",
    "create_context",
    "create_door",
    "create_site",
    "issue_operator_key",
    "revoke_operator_key",
    "rotate_signing_key",
    "set_client_events",
]
