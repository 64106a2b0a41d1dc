"""Bodies of the webhook API: a client's webhook, and the operator's dead letters."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from hallkey.core.schemas import RequestModel
from hallkey.hub.operator_schemas import URL_PATTERN

SECRET_PATTERN = r"^whsec_[A-Za-z0-9+/=]{32,200}$"  # noqa: S105 - a pattern, not a secret
"""A Standard Webhooks secret: `whsec_` and the base64 of at least 24 random bytes."""


class WebhookIn(RequestModel):
    """A webhook as its client sets it; without `secret` the hub makes one."""

    url: str = Field(max_length=500, pattern=URL_PATTERN)
    secret: str | None = Field(default=None, pattern=SECRET_PATTERN)


class OperatorWebhookIn(WebhookIn):
    """A webhook as an operator sets it; `allow_private` lets it point at an inside address."""

    allow_private: bool = False


class WebhookOut(BaseModel):
    """A client's webhook: never its secret."""

    url: str | None
    state: Literal["active", "none"]
    allow_private: bool
    pending: int
    dead: int


class NewWebhookOut(WebhookOut):
    """A webhook just set: `secret` is shown only in this answer."""

    secret: str


class DeadLetterOut(BaseModel):
    """A message that exhausted its retries; `payload` is what it carries (refs, door ids)."""

    id: str
    client_id: str
    type: str
    attempts: int
    last_error: str | None
    created_at: datetime
    payload: dict[str, Any]
