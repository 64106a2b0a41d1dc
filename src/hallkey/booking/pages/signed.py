"""Short-lived signed tokens for the public booking pages (HS256 JWTs with a key derived
from the master secret, their expiry checked against the context's clock).

- A booking form carries a token naming the id its reservation will get: a form sent twice
  finds its reservation the second time instead of booking again.
- The redirect after booking carries a token naming that reservation: only who booked sees
  its confirmation; ids cannot be guessed into someone else's.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import jwt

from hallkey.core.ids import new_id
from hallkey.core.security import derive_key

if TYPE_CHECKING:
    from hallkey.booking.context import BookingContext

FORM = "booking-form"
CONFIRMATION = "booking-confirmation"
FORM_LIFETIME = timedelta(days=1)
CONFIRMATION_LIFETIME = timedelta(hours=2)
_ALGORITHM = "HS256"


def _key(ctx: BookingContext) -> bytes:
    return derive_key(ctx.settings.master_secret, "booking-page-tokens")


def issue(ctx: BookingContext, audience: str, subject: str, lifetime: timedelta) -> str:
    """Returns a token for `audience` naming `subject`, valid for `lifetime`."""
    expires = ctx.clock.now() + lifetime
    claims = {"aud": audience, "sub": subject, "exp": int(expires.timestamp())}
    return jwt.encode(claims, _key(ctx), algorithm=_ALGORITHM)


def read(ctx: BookingContext, audience: str, token: str) -> str | None:
    """Returns the subject of a valid, unexpired token for `audience`; None otherwise."""
    if not token or len(token) > 1024:
        return None
    try:
        claims = jwt.decode(
            token,
            _key(ctx),
            algorithms=[_ALGORITHM],
            audience=audience,
            # The expiry is checked against the context's clock, not the system's.
            options={"verify_exp": False, "require": ["exp", "sub", "aud"]},
        )
    except jwt.PyJWTError:
        return None
    if int(claims["exp"]) <= ctx.clock.now().timestamp():
        return None
    subject = claims["sub"]
    return subject if isinstance(subject, str) else None


def new_form_token(ctx: BookingContext, resource_id: str) -> str:
    """Returns a booking form's one-time token: it names the id its reservation will get."""
    return issue(ctx, FORM, f"{resource_id} {new_id('bkg')}", FORM_LIFETIME)


def form_reservation_id(ctx: BookingContext, token: str, resource_id: str) -> str | None:
    """Returns the reservation id a form's token names for this resource; None if it is not
    a valid token of this resource's form."""
    subject = read(ctx, FORM, token)
    if subject is None:
        return None
    resource, _, reservation_id = subject.partition(" ")
    return reservation_id if resource == resource_id and reservation_id else None
