"""The booking context's throttles on what can be guessed or abused, one set per context.

They live on the context, not on a router, so that the API and the pages draw on the same
budget: a password guessed through `/login` counts against the same limit as one guessed
through `POST /api/v1/session`.
"""

from __future__ import annotations

from dataclasses import dataclass

from hallkey.core.clock import Clock
from hallkey.core.settings import Settings
from hallkey.core.throttle import Rate, Throttle

STAFF_FAILURE_SECONDS = 15 * 60
LINKS_PER_EMAIL = Rate(limit=3, per_seconds=15 * 60)
LINKS_PER_ADDRESS = Rate(limit=20, per_seconds=15 * 60)
SIGN_INS_PER_ADDRESS = Rate(limit=30, per_seconds=60)
WEBHOOK_FAILURES_PER_ADDRESS = Rate(limit=30, per_seconds=60)
"""Hub webhook messages that fail verification (no signature can be guessed: this bounds the
work a stranger makes, as the API's wrong-key throttle does); valid ones are always taken."""
TOO_MANY_SIGN_INS = "too many failed sign-ins; try again later"


@dataclass(frozen=True)
class BookingThrottles:
    """Staff sign-in failures (per username and per address), customers' sign-in links
    (asked per e-mail and per address, redeemed per address) and failed hub webhook messages
    (per address)."""

    staff_failures_per_username: Throttle
    staff_failures_per_address: Throttle
    links_per_email: Throttle
    links_per_address: Throttle
    sign_ins_per_address: Throttle
    webhook_failures_per_address: Throttle

    @classmethod
    def create(cls, settings: Settings, clock: Clock) -> BookingThrottles:
        """Returns the context's throttles, with the limits the settings give."""
        return cls(
            staff_failures_per_username=Throttle(
                "sign-in per username",
                Rate(settings.sign_in_failures_per_username, STAFF_FAILURE_SECONDS),
                clock,
            ),
            staff_failures_per_address=Throttle(
                "sign-in per address",
                Rate(settings.sign_in_failures_per_address, STAFF_FAILURE_SECONDS),
                clock,
            ),
            links_per_email=Throttle("sign-in links per e-mail", LINKS_PER_EMAIL, clock),
            links_per_address=Throttle("sign-in links per address", LINKS_PER_ADDRESS, clock),
            sign_ins_per_address=Throttle("sign-ins per address", SIGN_INS_PER_ADDRESS, clock),
            webhook_failures_per_address=Throttle(
                "failed hub webhooks per address", WEBHOOK_FAILURES_PER_ADDRESS, clock
            ),
        )
