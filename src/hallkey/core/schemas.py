"""Pydantic types shared by every JSON API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, Field


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]
"""An RFC 3339 time that must carry an offset; held in UTC once parsed."""


REF_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
"""The one format of a `ref` in every context: 1 to 64 characters of `A-Z a-z 0-9 _ . : -`,
starting with a letter or digit (so never `.` or `..`, which a URL path would resolve away)."""

Ref = Annotated[str, Field(min_length=1, max_length=64, pattern=REF_PATTERN)]
"""An opaque reservation reference such as `rsv_01jd…`, as the booking system makes them."""


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None = None


class ErrorResponse(BaseModel):
    """The body of every error answer."""

    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorResponse} for status in (400, 401, 403, 404, 409, 422, 429)
}
"""For `responses=` on routers, so the OpenAPI document shows the error shape."""
