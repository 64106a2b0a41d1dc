"""What a booking API token may do. Every endpoint names the one scope it needs.

`staff` is the bundle a portal or a case officer's integration holds: `reservations`,
`decide` and `customers`. `setup` (venues and resources) is not part of it. `events:write`
(the hub pushing door events) is never part of a bundle: a token that holds it should hold
nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable

RESERVATIONS = "reservations"
"""Create, read, move and cancel reservations (with their access and door events)."""
DECIDE = "decide"
"""Approve or deny requested reservations (a case officer's decision)."""
CUSTOMERS = "customers"
"""Find, register and change customers (persons, organisations and their contact persons);
export and erase their data."""
EVENTS_WRITE = "events:write"
"""Only `POST /api/v1/access-events`: the hub's token for door events."""
SETUP = "setup"
"""Set the tenant up: venues, resources with their rules, and price groups (a tenant admin's
integration)."""
STAFF = "staff"
"""Everything staff do through the API: reservations, decide and customers."""

BUNDLES: dict[str, frozenset[str]] = {STAFF: frozenset({RESERVATIONS, DECIDE, CUSTOMERS})}
ALL: frozenset[str] = frozenset({RESERVATIONS, DECIDE, CUSTOMERS, EVENTS_WRITE, SETUP, STAFF})


def allows(held: Iterable[str], needed: str) -> bool:
    """Tells whether a token holding `held` scopes may do what `needed` covers."""
    return any(scope == needed or needed in BUNDLES.get(scope, ()) for scope in held)


def validate(requested: Iterable[str]) -> list[str]:
    """Returns the scopes sorted and without repeats; raises ValueError on an unknown one."""
    result = sorted(set(requested))
    if not result:
        raise ValueError("a token needs at least one scope")
    unknown = [scope for scope in result if scope not in ALL]
    if unknown:
        raise ValueError("unknown scope")
    return result
