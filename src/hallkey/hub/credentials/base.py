"""The extension point between a grant and the credential its guest holds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.orm import Session

from hallkey.hub.context import HubContext
from hallkey.hub.domain import Window
from hallkey.hub.models import Door, Grant, Site


@dataclass(frozen=True)
class Shown:
    """The credential as its holder (or the booking system showing it) sees it."""

    code: str | None = None
    code_formatted: str | None = None
    url: str | None = None
    mobile_key: str | None = None

    @property
    def for_message(self) -> str:
        """Returns what a message names as the key: the typed code or the link."""
        return self.code_formatted or self.url or self.mobile_key or ""


class CredentialType(Protocol):
    """One kind of credential (`pin`, `url_key`, `mobile_key`…) of a grant.

    Implementations keep their secret on the grant row (sealed or as a digest), take the
    caller's session and never commit; they may raise `AppError`s (a 409 `no_free_code`…),
    which leave the request's transaction to be rolled back.
    """

    name: str
    door_capability: str
    """What the connector of every door of the grant must be able to do for this credential."""
    stored_at_door: bool
    """Whether the doors are programmed with it; if not, the hub alone checks it (and a
    grant's doors are `programmed` as soon as their job runs)."""

    def issue(
        self,
        ctx: HubContext,
        session: Session,
        grant: Grant,
        sites: dict[str, Site],
        doors: Sequence[Door],
        windows: Sequence[Window],
    ) -> None:
        """Gives the grant a new credential, replacing any old one (a grant made, or a revoked
        grant granted again: the old credential may have been passed on)."""
        ...

    def refresh(
        self,
        ctx: HubContext,
        session: Session,
        grant: Grant,
        sites: dict[str, Site],
        doors: Sequence[Door],
        windows: Sequence[Window],
    ) -> bool:
        """Brings the credential in line with the grant's new doors and windows (before they
        are stored); returns whether the guest now holds a different credential."""
        ...

    def shown(self, ctx: HubContext, grant: Grant) -> Shown:
        """Returns the credential to show its holder (empty once it cannot be shown)."""
        ...

    def door_code(self, ctx: HubContext, grant: Grant) -> str | None:
        """Returns what a door stores to check this credential itself (a PIN), if anything."""
        ...
