"""How full a door is, without counting its codes for every code programmed.

A door holds at most `max_credentials` credentials that hold a place: not revoked, with a
window not yet ended. Counting them each time a code was programmed cost time in proportion
to the door's codes (at 10,000 codes on a door allowed a million, the count took 57 % of the
combined server's samples, and the pipeline slowed from 20 to 9 bookings a second).

The door keeps `places_bound` instead: never below the true count. It goes up when a credential
starts to hold a place and down when one that held a place is revoked; time only lowers the
true count (windows end), so the bound stays a bound. A door whose bound is below its limit
has room without a count; only a door that may be full is counted, and the exact count then
becomes its bound. The callers hold the door's row lock (doors are locked in id order).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from hallkey.locks import repository
from hallkey.locks.models import Credential, Door


def holds_place(session: Session, credential: Credential | None, now: datetime) -> bool:
    """Tells whether the credential holds a place on its door at `now`."""
    if credential is None or credential.revoked:
        return False
    return repository.has_live_window(session, credential.id, now)


def has_room(session: Session, door: Door, ref: str, *, held: bool, now: datetime) -> bool:
    """Tells whether the door has a place for `ref` (`held`: it holds one already)."""
    others_at_most = door.places_bound - int(held)
    if others_at_most < door.max_credentials:
        return True
    others = repository.count_active_credentials(
        session, door.id, now, except_ref=ref, up_to=door.max_credentials
    )
    if others >= door.max_credentials:
        return False
    door.places_bound = others + int(held)  # exact at this moment
    return True


def taken(door: Door, *, held: bool) -> None:
    """Notes that a credential holds a place now (programmed), `held` telling whether it did
    before."""
    if not held:
        door.places_bound += 1


def freed(door: Door, *, held: bool) -> None:
    """Notes that a credential was revoked, `held` telling whether it held a place."""
    if held:
        door.places_bound -= 1
