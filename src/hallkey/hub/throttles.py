"""The hub's rate limits on what can be abused through its API (kept per process)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

from hallkey.core.clock import Clock
from hallkey.core.errors import NotFound, TooManyRequests
from hallkey.core.throttle import Rate, Throttle

PULSE_RATE = Rate(limit=10, per_seconds=60)
"""GrantPulseAccess per client and ref: a door opened now and then, not a relay hammered."""

RESEND_RATE = Rate(limit=3, per_seconds=3600)
"""ResendAccess per client and ref: each call sends an SMS and/or an email to one person."""

UNKNOWN_REF_RATE = Rate(limit=30, per_seconds=60)
"""Lookups of refs the client has no grant for, per client: bounds guessing refs."""


def ref_key(client_id: str, ref: str) -> str:
    """Returns the throttle key of one client's ref."""
    return f"{client_id}\0{ref}"


@dataclass
class HubThrottles:
    """The throttles of one hub process."""

    pulse: Throttle
    resend: Throttle
    unknown_refs: Throttle

    @classmethod
    def create(
        cls,
        clock: Clock,
        *,
        pulse: Rate = PULSE_RATE,
        resend: Rate = RESEND_RATE,
        unknown_refs: Rate = UNKNOWN_REF_RATE,
    ) -> HubThrottles:
        """Returns fresh throttles at the given rates."""
        return cls(
            pulse=Throttle("hub_pulse", pulse, clock),
            resend=Throttle("hub_resend", resend, clock),
            unknown_refs=Throttle("hub_unknown_refs", unknown_refs, clock),
        )

    @contextmanager
    def ref_lookup(self, client_id: str) -> Iterator[None]:
        """Refuses (429) a client over its rate of unknown refs; counts an unknown ref met
        inside the block (a 404 `unknown_ref`)."""
        self.unknown_refs.check(client_id, "too many unknown refs; try again later")
        try:
            yield
        except NotFound as exc:
            if exc.code == "unknown_ref":
                # Over the rate already (a concurrent request): this one is still a 404.
                with suppress(TooManyRequests):
                    self.unknown_refs.hit(client_id)
            raise
