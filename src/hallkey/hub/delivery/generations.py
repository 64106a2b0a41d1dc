"""Which of a grant's messages are about the code it holds now.

A grant granted again after a revocation gets a new code, and every message about the old
code becomes history: an unsent one is dropped (the new code's own message replaces it, so
the guest never gets the new code twice), and a sent one is marked, so that a later
revocation is announced only if a message with the *new* code went out.
"""

from __future__ import annotations

from collections.abc import Iterable

from hallkey.hub.models import Delivery

CREDENTIAL_TEMPLATES = frozenset({"access_granted", "access_changed"})
"""The messages that carry the code: a revocation is sent only after one of them."""

SUPERSEDED = "superseded"
"""The `error` of a message about a code the grant no longer holds (sent or not)."""


def supersede(deliveries: Iterable[Delivery]) -> None:
    """Marks a grant's messages as being about a code it no longer holds."""
    for delivery in deliveries:
        if delivery.state == "queued":
            # Not sent yet, and no longer true (the old code, or its revocation).
            delivery.state = "failed"
            delivery.error = SUPERSEDED
        elif delivery.state == "sent" and delivery.template in CREDENTIAL_TEMPLATES:
            # Still sent (a job that was sending it when this ran records it so, too); only
            # no longer a reason to announce the next revocation.
            delivery.error = SUPERSEDED


def carries_current_code(delivery: Delivery) -> bool:
    """Tells whether a message carries the code the grant holds now."""
    return delivery.template in CREDENTIAL_TEMPLATES and delivery.error != SUPERSEDED


def channels_awaiting_code(deliveries: Iterable[Delivery]) -> set[str]:
    """Returns the channels on which a message with the code is still queued.

    Such a message is drawn up when it is sent, from the grant as it is then, so a change
    made before it goes out needs no second message on that channel.
    """
    return {
        d.channel
        for d in deliveries
        if d.state == "queued" and d.template in CREDENTIAL_TEMPLATES and d.error != SUPERSEDED
    }
