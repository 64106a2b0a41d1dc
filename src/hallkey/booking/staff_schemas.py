"""Request and response bodies of staff accounts, sign-in and personal tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from hallkey.core.schemas import RequestModel

PASSWORD_MIN = 12
"""Shortest password a staff member may have (a passphrase, not a word)."""
PASSWORD_MAX = 256
"""Longest password taken: Argon2 hashes whatever it gets, so a huge one costs only us."""
USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}$"

Role = Literal["admin", "case_officer", "caretaker"]
Password = Field(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)
Username = Field(min_length=1, max_length=100, pattern=USERNAME_PATTERN)
VenueIds = Field(default=None, max_length=200)


class StaffIn(RequestModel):
    """A new staff member; a caretaker names the venues it looks after."""

    username: str = Username
    role: Role
    password: str = Password
    venue_ids: list[str] | None = VenueIds


class StaffPatch(RequestModel):
    """What changes of a staff member; `disabled: true` also ends their sessions."""

    role: Role | None = None
    venue_ids: list[str] | None = VenueIds
    disabled: bool | None = None


class PasswordIn(RequestModel):
    """A new password for a staff member (reset by an admin)."""

    password: str = Password


class StaffOut(BaseModel):
    """A staff member, never with their password."""

    id: str
    username: str
    role: Role
    venue_ids: list[str]
    disabled: bool
    created_at: datetime


class SignIn(RequestModel):
    """Sign-in with username and password; `tenant` (its slug) when the host does not tell."""

    tenant: str | None = Field(default=None, min_length=1, max_length=64)
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=PASSWORD_MAX)


class SessionOut(BaseModel):
    """A signed-in session: send `csrf_token` as `X-CSRF-Token` on every unsafe request."""

    csrf_token: str
    expires_at: datetime
    staff: StaffOut


class PersonalTokenIn(RequestModel):
    """A personal API token: it acts as its maker, with at most what their role allows."""

    name: str = Field(min_length=1, max_length=200)
    scopes: list[str] = Field(min_length=1, max_length=10)


class PersonalTokenOut(BaseModel):
    id: str
    name: str
    scopes: list[str]
    created_at: datetime


class IssuedPersonalTokenOut(PersonalTokenOut):
    """A personal token just made: `token` is shown only in this answer."""

    token: str
