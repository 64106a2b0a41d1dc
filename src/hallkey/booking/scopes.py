"""What a booking API token may do. Every endpoint names the one scope it needs.

`staff` is the bundle a portal or a case officer's integration holds: `reservations`,
`decide` and `customers`. `setup` (venues, resources and staff) is not part of it.
`reservations` includes `reservations:read`. `accounts` (the finance export) is given to
admins and case officers by their role, and is in no bundle: an integration holds it only
when named. `events:write` (the hub pushing door events) is
never part of a bundle: a token that holds it should hold nothing else.

A staff member (signed in, or through a personal token) may do what their role allows
(`ROLE_SCOPES`, the one map of roles to rights); a personal token may hold less.
"""

from __future__ import annotations

from collections.abc import Iterable

RESERVATIONS = "reservations"
"""Create, read, move and cancel reservations (with their access and door events)."""
RESERVATIONS_READ = "reservations:read"
"""Read reservations with their access and door events (a caretaker: of its venues only)."""
DECIDE = "decide"
"""Approve or deny requested reservations (a case officer's decision)."""
CUSTOMERS = "customers"
"""Find, register and change customers (persons, organisations and their contact persons);
export and erase their data."""
DOORS_OPEN = "doors:open"
"""Open a reservation's door now, while its access is valid (a caretaker at its venues)."""
EVENTS_WRITE = "events:write"
"""Only `POST /api/v1/access-events`: the hub's token for door events."""
ACCOUNTS = "accounts"
"""Read the accounts export: every billable reservation with customer and price (finance)."""
SETUP = "setup"
"""Set the tenant up: venues, resources with their rules, price groups, and its staff (an
admin)."""
STAFF = "staff"
"""Everything a case officer does through the API: reservations, decide and customers."""

BUNDLES: dict[str, frozenset[str]] = {
    STAFF: frozenset({RESERVATIONS, RESERVATIONS_READ, DECIDE, CUSTOMERS}),
    RESERVATIONS: frozenset({RESERVATIONS_READ}),
}
ALL: frozenset[str] = frozenset(
    {
        RESERVATIONS,
        RESERVATIONS_READ,
        DECIDE,
        CUSTOMERS,
        DOORS_OPEN,
        EVENTS_WRITE,
        SETUP,
        STAFF,
        ACCOUNTS,
    }
)

ADMIN = "admin"
CASE_OFFICER = "case_officer"
CARETAKER = "caretaker"
ROLE_SCOPES: dict[str, frozenset[str]] = {
    ADMIN: frozenset({STAFF, SETUP, DOORS_OPEN, ACCOUNTS}),
    CASE_OFFICER: frozenset({STAFF, ACCOUNTS}),
    CARETAKER: frozenset({RESERVATIONS_READ, DOORS_OPEN}),
}
"""What each staff role may do: the only place a role turns into rights."""
ROLES: tuple[str, ...] = (ADMIN, CASE_OFFICER, CARETAKER)
VENUE_BOUND_ROLES: frozenset[str] = frozenset({CARETAKER})
"""Roles that see only the venues listed on the staff member."""


def allows(held: Iterable[str], needed: str) -> bool:
    """Tells whether a token holding `held` scopes may do what `needed` covers."""
    return any(scope == needed or needed in BUNDLES.get(scope, ()) for scope in held)


def expand(held: Iterable[str]) -> frozenset[str]:
    """Returns the scopes held with everything their bundles include."""
    result = set(held)
    for scope in list(result):
        result |= BUNDLES.get(scope, frozenset())
    return frozenset(result)


def within(requested: Iterable[str], role: str) -> bool:
    """Tells whether the role may do everything `requested` covers."""
    return expand(requested) <= expand(ROLE_SCOPES.get(role, frozenset()))


def effective(held: Iterable[str], role: str) -> frozenset[str]:
    """Returns what a staff member's token may do now: what it holds that the role still allows
    (a role may have changed since the token was made; what the role lost, the token lost)."""
    return expand(held) & expand(ROLE_SCOPES.get(role, frozenset()))


def validate(requested: Iterable[str]) -> list[str]:
    """Returns the scopes sorted and without repeats; raises ValueError on an unknown one."""
    result = sorted(set(requested))
    if not result:
        raise ValueError("a token needs at least one scope")
    unknown = [scope for scope in result if scope not in ALL]
    if unknown:
        raise ValueError("unknown scope")
    return result
