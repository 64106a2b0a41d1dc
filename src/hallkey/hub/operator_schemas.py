"""Bodies of the hub operator's API: clients, sites, doors."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from hallkey.core.schemas import RequestModel

DOOR_ID_PATTERN = r"^[A-Za-z0-9_.:\-]{1,64}$"
URL_PATTERN = r"^https?://"


class ClientIn(RequestModel):
    name: str = Field(min_length=1, max_length=200)


class ClientPatch(RequestModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    # Where door events and grant changes are posted, with the bearer token to present.
    events_url: str | None = Field(default=None, max_length=500, pattern=URL_PATTERN)
    events_token: str | None = Field(default=None, min_length=8, max_length=500)
    # The From of the emails to its guests (`Fjellby kommune <booking@fjellby.no>`); "" clears.
    email_from: str | None = Field(default=None, max_length=320)


class ClientOut(BaseModel):
    id: str
    name: str
    events_url: str | None
    has_events_token: bool
    # Where its webhook posts (its secret is never shown), or None.
    webhook_url: str | None = None
    # The From of the emails to its guests, or None (the hub's `HALLKEY_SMTP_FROM`).
    email_from: str | None = None


class NewClientOut(ClientOut):
    """A new client: `api_key` is shown only in this answer."""

    api_key: str


class SiteIn(RequestModel):
    client_id: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=200)
    connector: str = Field(min_length=1, max_length=32)
    config: dict[str, str] = Field(default_factory=dict, max_length=50)
    timezone: str = Field(default="Europe/Oslo", min_length=1, max_length=64)
    pin_length: int = Field(default=6)


class SitePatch(RequestModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    config: dict[str, str] | None = Field(default=None, max_length=50)
    timezone: str | None = Field(default=None, min_length=1, max_length=64)
    pin_length: int | None = None


class DoorIn(RequestModel):
    site_id: str = Field(min_length=1, max_length=40)
    id: str | None = Field(default=None, pattern=DOOR_ID_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    remote_id: str | None = Field(default=None, pattern=DOOR_ID_PATTERN)


class DoorPatch(RequestModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)


class OperatorDoorOut(BaseModel):
    id: str
    site_id: str
    name: str
    remote_id: str


class SiteOut(BaseModel):
    """A site; its connector config is never shown (it holds the lock system's secrets)."""

    id: str
    client_id: str
    name: str
    connector: str
    timezone: str
    pin_length: int
    doors: list[OperatorDoorOut]


class NewSiteOut(SiteOut):
    """A new site: `events_token` (for its controller's event pushes) is shown only here."""

    events_token: str


class ClientKeyIn(RequestModel):
    name: str = Field(min_length=1, max_length=200, description="what the key is for")


class ClientKeyOut(BaseModel):
    """A client's API key as the operator sees it: never the secret. `key_id` is the public
    part of the key (`hkh_<key_id>.…`), to tell which key a booking system holds."""

    id: str
    name: str
    key_id: str
    created_at: datetime
    revoked_at: datetime | None


class NewClientKeyOut(ClientKeyOut):
    """A new key: `api_key` is shown only in this answer."""

    api_key: str
