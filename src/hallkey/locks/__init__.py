"""hallkey.locks — the door controller: doors, PIN credentials with windows, door events.

It knows nothing about people: only the opaque grant `ref`.
"""

from hallkey.locks.app import build_part
from hallkey.locks.context import LocksContext, create_context
from hallkey.locks.operator import issue_operator_key, revoke_operator_key
from hallkey.locks.provisioning import create_controller, create_door, set_hub_link

__all__ = [
    "LocksContext",
    "build_part",
    "create_context",
    "create_controller",
    "create_door",
    "issue_operator_key",
    "revoke_operator_key",
    "set_hub_link",
]
