"""JSON bodies of the door controller's API. None of them holds anything about a person."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator

from hallkey.core.schemas import Ref, RequestModel, UtcDatetime
from hallkey.locks.domain import MAX_WINDOWS, VERSION_LIMIT, DenyReason, EventKind

HubDoorId = Annotated[str, Field(min_length=1, max_length=64)]
"""The hub's id of a controller's door: what a mobile key's `doors` claim names."""


class Request(RequestModel):
    """A request body: unknown fields (a name, a phone, an email…) are refused; types strict."""


class WindowBody(Request):
    """A half-open time frame `[valid_from, valid_to)`."""

    valid_from: UtcDatetime
    valid_to: UtcDatetime


class PublicKeyBody(Request):
    """One of the hub's public keys, as a JWK (RFC 8037: an Ed25519 `OKP` key)."""

    kty: Literal["OKP"]
    crv: Literal["Ed25519"]
    x: str = Field(pattern=r"^[A-Za-z0-9_-]{43}$", description="the raw key, base64url")
    kid: str = Field(min_length=1, max_length=40)
    alg: Literal["EdDSA"] | None = None
    use: Literal["sig"] | None = None


class CredentialFields(Request):
    """The fields of a credential write that do not name a door (shared by the single-door
    and the batch PUT, so both check a body alike)."""

    type: Literal["pin", "mobile_key", "unlock"]
    code: str | None = Field(
        default=None,
        pattern=r"^[0-9]{4,8}$",
        description="4 to 8 digits, without `#`; required for `pin`, absent otherwise",
    )
    keys: list[PublicKeyBody] = Field(default_factory=list, max_length=16)
    windows: list[WindowBody] = Field(min_length=1, max_length=MAX_WINDOWS)
    version: int = Field(
        default=0,
        ge=0,
        lt=VERSION_LIMIT,
        strict=True,
        description="the sender's version of this credential (a JSON integer, 0 to 2^63-1); "
        "an older write than the last one applied (a PUT or DELETE that arrived late) is "
        "ignored, and so is a PUT at the version of a revocation (at an equal version the "
        "revocation wins)",
    )


class CredentialPut(CredentialFields):
    """What one ref holds on one door, and when: a PIN (`code`), a mobile key (`keys`: the
    hub's public keys that verify it; the token never comes here), or an unlock schedule
    (`unlock`: the door stands unlocked from each window's start and locks itself at its end;
    no code)."""

    # The hub's id of this door, which a mobile key's `doors` claim names (it may differ from
    # the controller's own id); the door keeps the latest one.
    hub_door: HubDoorId | None = None


MAX_BATCH_DOORS = 64
"""Doors in one batch request: a booking's doors on one controller are a handful."""

DoorIdField = Annotated[str, Field(min_length=1, max_length=64)]


def _unique(ids: list[str]) -> list[str]:
    if len(set(ids)) != len(ids):
        raise ValueError("each door may be named once")
    return ids


class BatchDoor(Request):
    """A door of a batch write: the controller's id and, if it differs, the hub's."""

    id: DoorIdField
    hub_door: HubDoorId | None = None


class CredentialsPut(CredentialFields):
    """One ref's credential for several doors of the controller (as `CredentialPut` each)."""

    doors: list[BatchDoor] = Field(min_length=1, max_length=MAX_BATCH_DOORS)

    @field_validator("doors")
    @classmethod
    def _doors_unique(cls, doors: list[BatchDoor]) -> list[BatchDoor]:
        _unique([door.id for door in doors])
        return doors


class CredentialsRevoke(Request):
    """Revoke one ref on several doors of the controller (as the DELETE does on each)."""

    doors: list[DoorIdField] = Field(min_length=1, max_length=MAX_BATCH_DOORS)
    version: int = Field(
        default=0,
        ge=0,
        lt=VERSION_LIMIT,
        strict=True,
        description="the sender's version (0 to 2^63-1); an older one is ignored",
    )

    @field_validator("doors")
    @classmethod
    def _doors_unique(cls, doors: list[str]) -> list[str]:
        return _unique(doors)


class CredentialOut(BaseModel):
    """A credential as programmed on a door (never its code)."""

    door: str
    ref: str
    type: str
    windows: list[WindowBody]
    revoked: bool
    version: int


class CredentialListItem(BaseModel):
    """A credential of a door, for the hub's reconciler (never its code)."""

    ref: str
    type: str
    windows: list[WindowBody]
    revoked: bool
    version: int


class CredentialRevoked(BaseModel):
    """The answer to a revocation."""

    door: str
    ref: str
    revoked: bool


class PulseBody(Request):
    """Open the door now for a few seconds, on behalf of a ref (or of nobody)."""

    seconds: int = Field(default=5, ge=1, le=60, strict=True)
    ref: Ref | None = None


class DoorOut(BaseModel):
    """A door and its lock state; `unlocked_until` is null while it is locked."""

    id: str
    name: str
    locked: bool
    unlocked_until: UtcDatetime | None
    online: bool


class EventOut(BaseModel):
    """Something that happened at a door."""

    id: str
    door: str
    ref: str | None
    kind: EventKind
    reason: str | None
    at: UtcDatetime


class KeypadBody(Request):
    """What was typed on the keypad, e.g. `482915#`.

    `code` must be a JSON string: as a number, `012345` would arrive as `12345` and open
    nothing, so a number is refused with 422 (no event, no count towards the lock-out). Every
    string is answered with 200: one that is not a code is refused as `unknown_code`.
    """

    code: str = Field(
        strict=True,
        description="the keys pressed, as a JSON string (never a number: leading zeros "
        "matter); spaces and one trailing `#` are ignored",
        examples=["482915#"],
    )


class MobileKeyBody(Request):
    """What a mobile-key reader read: the token (a JWT) from the guest's QR code or phone."""

    token: str = Field(strict=True, min_length=1, max_length=4096)


class KeypadOut(BaseModel):
    """The keypad's answer: `ref` when granted, `reason` when refused."""

    granted: bool
    ref: str | None = None
    reason: DenyReason | None = None


RefusalCode = Literal["unknown_door", "code_rejected", "no_space_on_door"]


class DoorError(BaseModel):
    """Why one door of a batch took no change (the single-door call's error code)."""

    code: RefusalCode
    message: str


class DoorProgrammed(BaseModel):
    """A door of a batch PUT that holds the credential (or a newer one: a stale write)."""

    door: str
    ok: Literal[True] = True
    credential: CredentialOut


class DoorRevoked(BaseModel):
    """A door of a batch revocation that took it (or held a newer write)."""

    door: str
    ok: Literal[True] = True
    revoked: CredentialRevoked


class DoorRefused(BaseModel):
    """A door of a batch that took no change, and why."""

    door: str
    ok: Literal[False] = False
    error: DoorError


class CredentialsOut(BaseModel):
    """The answer to a batch PUT: each door's outcome, in the request's order."""

    ref: str
    doors: list[DoorProgrammed | DoorRefused]


class CredentialsRevoked(BaseModel):
    """The answer to a batch revocation: each door's outcome, in the request's order."""

    ref: str
    doors: list[DoorRevoked | DoorRefused]
