"""What a GrantAccess or UpdateAccess asks, checked before anything is stored: a credential the
hub issues, parts that fit together, a frame not ended, and doors of the caller's own that can
do what the grant needs (each InvalidInput naming its field). Apart from `grant_checks`, which
the credential types use themselves."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from hallkey.core.errors import InvalidInput
from hallkey.hub.connectors.base import SCHEDULE
from hallkey.hub.context import HubContext
from hallkey.hub.credentials import CredentialType, credential_type
from hallkey.hub.domain import Window
from hallkey.hub.grant_checks import client_doors, require_capability, require_future
from hallkey.hub.models import Client, Door, Site
from hallkey.hub.schemas import GrantAccessIn, UpdateAccessIn


def credential_kind(name: str) -> CredentialType:
    """Returns the credential type a grant names; raises InvalidInput for one not issued."""
    kind = credential_type(name)
    if kind is None:
        raise InvalidInput(
            f"credential {name} is not supported yet", field="credential", code="unsupported"
        )
    return kind


def door_needs(operation: str, kind: CredentialType) -> tuple[str, str]:
    """Returns what every door must be able to do for the grant, and the field to blame."""
    if operation == "unlock":
        return SCHEDULE, "operation"
    return kind.door_capability, "credential"


def check_grant_request(request: GrantAccessIn) -> None:
    """Raises InvalidInput for a GrantAccess whose parts do not fit together."""
    if request.operation == "unlock" and request.deliver_via:
        # The doors stand open for everyone: there is no credential to send anybody.
        raise InvalidInput("an unlock grant has nothing to deliver", field="deliver_via")
    credential_kind(request.credential)
    if request.credential == "sms" and request.operation == "code" and not request.recipient.phone:
        # The guest's phone is the credential: a text from it opens the door.
        raise InvalidInput("credential sms needs recipient.phone", field="recipient.phone")
    for channel, address, field in (
        ("sms", request.recipient.phone, "recipient.phone"),
        ("email", request.recipient.email, "recipient.email"),
    ):
        if channel in request.deliver_via and address is None:
            raise InvalidInput(f"deliver_via {channel} needs {field}", field=field)


def last_window_field(request: GrantAccessIn | UpdateAccessIn) -> str:
    """The field to blame for a frame that has ended: the last window's end."""
    return f"windows.{len(request.windows) - 1}.valid_to" if request.windows else "valid_to"


def checked_doors(
    ctx: HubContext,
    session: Session,
    client: Client,
    request: GrantAccessIn,
    windows: Sequence[Window],
    now: datetime,
) -> tuple[list[Door], dict[str, Site]]:
    """Returns the client's doors a GrantAccess names and their sites, after checking that its
    frame has not ended and that every door can do what the grant needs (InvalidInput)."""
    require_future(windows, now, last_window_field(request))
    doors, sites = client_doors(session, client, request.doors)
    kind = credential_kind(request.credential)
    require_capability(ctx, sites, doors, *door_needs(request.operation, kind))
    return doors, sites
