"""The door controller's HTTP API under `/locks/v1` (bearer: a controller's locks API key).

No `from __future__ import annotations` here: FastAPI must see the endpoints' annotations,
which use the closure's `auth` dependency, as objects.
"""

from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Security

from hallkey.core.auth import database_key, verified_principal
from hallkey.core.schemas import ERROR_RESPONSES, REF_PATTERN, UtcDatetime
from hallkey.core.throttle import Rate, Throttle
from hallkey.locks import credentials, mobile_keys, service
from hallkey.locks import keypad as keypad_decision
from hallkey.locks.domain import VERSION_LIMIT
from hallkey.locks.schemas import (
    CredentialListItem,
    CredentialOut,
    CredentialPut,
    CredentialRevoked,
    CredentialsOut,
    CredentialsPut,
    CredentialsRevoke,
    CredentialsRevoked,
    DoorOut,
    EventOut,
    KeypadBody,
    KeypadOut,
    MobileKeyBody,
    PulseBody,
)

if TYPE_CHECKING:
    from hallkey.locks.context import LocksContext

DoorId = Annotated[str, Path(min_length=1, max_length=64)]
RefPath = Annotated[str, Path(min_length=1, max_length=64, pattern=REF_PATTERN)]

KEYPAD_RATE = Rate(limit=60, per_seconds=60)
"""Keypad entries per door and minute: no person types that fast, a flood does (429)."""


def build_routers(ctx: "LocksContext") -> list[APIRouter]:
    """Returns the routers of the door controller's API, with full paths."""

    locks_key = database_key(
        ctx.database, service.authenticate, scheme_name="locksKey", description="locks API key"
    )

    def authenticated_controller(
        request: Request, token: Annotated[str, Security(locks_key)]
    ) -> str:
        # The guard looked the key up already (once per door of every booking: worth keeping).
        known = verified_principal(request, locks_key)
        if isinstance(known, str):
            return known
        with ctx.database.read() as session:
            return service.authenticate(session, token)

    auth = Depends(authenticated_controller)
    keypad_throttle = Throttle("locks_keypad", KEYPAD_RATE, ctx.clock)
    router = APIRouter(tags=["locks"], responses=ERROR_RESPONSES)

    @router.get("/locks/v1/doors", response_model=list[DoorOut])
    def list_doors(controller_id: Annotated[str, auth]) -> list[DoorOut]:
        """Returns the controller's doors and whether each is locked."""
        with ctx.database.transaction() as session:
            return service.list_doors(ctx, session, controller_id)

    @router.get("/locks/v1/doors/{door_id}", response_model=DoorOut)
    def get_door(controller_id: Annotated[str, auth], door_id: DoorId) -> DoorOut:
        """Returns one door; `unlocked_until` is null while it is locked."""
        with ctx.database.transaction() as session:
            return service.get_door(ctx, session, controller_id, door_id)

    @router.put("/locks/v1/doors/{door_id}/credentials/{ref}", response_model=CredentialOut)
    def put_credential(
        controller_id: Annotated[str, auth], door_id: DoorId, ref: RefPath, body: CredentialPut
    ) -> CredentialOut:
        """Programs the PIN of a ref on the door, replacing its code and windows (idempotent)."""
        with ctx.database.transaction() as session:
            return credentials.put_credential(ctx, session, controller_id, door_id, ref, body)

    @router.delete("/locks/v1/doors/{door_id}/credentials/{ref}", response_model=CredentialRevoked)
    def revoke_credential(
        controller_id: Annotated[str, auth],
        door_id: DoorId,
        ref: RefPath,
        version: Annotated[
            int,
            Query(
                ge=0,
                lt=VERSION_LIMIT,
                description="the sender's version (0 to 2^63-1); an older one is ignored",
            ),
        ] = 0,
    ) -> CredentialRevoked:
        """Revokes the credential of a ref on the door (idempotent, also for unknown refs)."""
        with ctx.database.transaction() as session:
            return credentials.revoke_credential(
                ctx, session, controller_id, door_id, ref, version=version
            )

    @router.put(
        "/locks/v1/credentials/{ref}",
        response_model=CredentialsOut,
        summary="Program a ref on several doors",
    )
    def put_credentials(
        controller_id: Annotated[str, auth], ref: RefPath, body: CredentialsPut
    ) -> CredentialsOut:
        """Programs the ref's credential on each door listed, as the single-door PUT would (one
        request, one transaction; each door in its own savepoint). A body the single PUT
        refuses is refused whole (422, nothing changed); a door that refuses (`unknown_door`,
        `code_rejected`, `no_space_on_door`) is answered `ok: false` and keeps what it held,
        while the others are programmed. Answers each door's outcome in the request's order."""
        with ctx.database.transaction() as session:
            return credentials.put_credentials(ctx, session, controller_id, ref, body)

    @router.post(
        "/locks/v1/credentials/{ref}/revoke",
        response_model=CredentialsRevoked,
        summary="Revoke a ref on several doors",
    )
    def revoke_credentials(
        controller_id: Annotated[str, auth], ref: RefPath, body: CredentialsRevoke
    ) -> CredentialsRevoked:
        """Revokes the ref on each door listed, as the single-door DELETE would (idempotent,
        also for unknown refs); a door not of this controller is `ok: false`, `unknown_door`."""
        with ctx.database.transaction() as session:
            return credentials.revoke_credentials(ctx, session, controller_id, ref, body)

    @router.get("/locks/v1/doors/{door_id}/credentials", response_model=list[CredentialListItem])
    def list_credentials(
        controller_id: Annotated[str, auth],
        door_id: DoorId,
        live: Annotated[
            bool,
            Query(
                description="only those that can still open the door (not revoked, "
                "with a window not yet ended)"
            ),
        ] = False,
        after: Annotated[
            str | None,
            Query(max_length=64, description="only the refs after this one (the last of a page)"),
        ] = None,
        limit: Annotated[
            int | None, Query(ge=1, le=5000, description="at most this many (a page)")
        ] = None,
    ) -> list[CredentialListItem]:
        """Returns the door's credentials by ref, without codes (for the hub's reconciler):
        all at once, or a page at a time with `limit` and the last ref seen as `after`."""
        with ctx.database.read() as session:
            return service.list_credentials(
                ctx, session, controller_id, door_id, live=live, after=after, limit=limit
            )

    @router.post("/locks/v1/doors/{door_id}/pulse", response_model=DoorOut)
    def pulse(controller_id: Annotated[str, auth], door_id: DoorId, body: PulseBody) -> DoorOut:
        """Opens the door now for 1 to 60 seconds."""
        with ctx.database.transaction() as session:
            return service.pulse(
                ctx, session, controller_id, door_id, seconds=body.seconds, ref=body.ref
            )

    @router.post(
        "/locks/v1/doors/{door_id}/keypad",
        response_model=KeypadOut,
        response_model_exclude_none=True,
    )
    def keypad(controller_id: Annotated[str, auth], door_id: DoorId, body: KeypadBody) -> KeypadOut:
        """Decides on a code typed at the door's keypad: 200, granted or with a reason, for
        every string; 429 with `Retry-After` beyond 60 entries a minute at one door."""
        # Before the transaction: a flood must cost no database work and leave no event.
        keypad_throttle.hit(
            f"{controller_id}/{door_id}", "too many keypad entries at this door; wait a little"
        )
        with ctx.database.transaction() as session:
            return keypad_decision.keypad(ctx, session, controller_id, door_id, body.code)

    @router.post(
        "/locks/v1/doors/{door_id}/mobile-key",
        response_model=KeypadOut,
        response_model_exclude_none=True,
    )
    def mobile_key(
        controller_id: Annotated[str, auth], door_id: DoorId, body: MobileKeyBody
    ) -> KeypadOut:
        """Decides offline on a mobile key read at the door: 200, granted with the ref or
        refused with a reason (`invalid_key`, `wrong_door`, `outside_window`, `revoked`,
        `locked_out`); 429 beyond 60 reads a minute at one door."""
        keypad_throttle.hit(
            f"{controller_id}/{door_id}", "too many reads at this door; wait a little"
        )
        with ctx.database.transaction() as session:
            return mobile_keys.present(ctx, session, controller_id, door_id, body.token)

    @router.get("/locks/v1/events", response_model=list[EventOut])
    def list_events(
        controller_id: Annotated[str, auth],
        since: Annotated[UtcDatetime | None, Query()] = None,
        ref: Annotated[str | None, Query(max_length=64, pattern=REF_PATTERN)] = None,
        door: Annotated[str | None, Query(max_length=64)] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[EventOut]:
        """Returns the controller's door events, oldest first (`since` inclusive)."""
        with ctx.database.transaction() as session:
            return service.list_events(
                session, controller_id, since=since, ref=ref, door_id=door, limit=limit
            )

    return [router]
