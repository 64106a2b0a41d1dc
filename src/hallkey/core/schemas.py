"""Pydantic types shared by every JSON API."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

EARLIEST_YEAR = 2000
LATEST_YEAR = 2199
"""The years a time given to any API may fall in: anything else is a typo or an attack, and
would overflow date arithmetic (year 1 minus an offset, year 9999 plus a buffer)."""

_RFC3339 = re.compile(
    r"^(?P<year>[0-9]{4})-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?"
    r"(?:[Zz]|[+-][0-9]{2}:[0-9]{2})$"
)
_TIME_FORMAT = "must be an RFC 3339 time with an offset, e.g. 2026-11-25T17:00:00Z"


def parse_utc(value: object) -> datetime:
    """Returns an RFC 3339 text (seconds and offset required) as a UTC datetime, within the
    sane years; raises ValueError naming the rule (never the value) otherwise.

    A datetime object (made in Python, not read from a request) is taken as it is.
    """
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(_TIME_FORMAT)
        return value.astimezone(UTC)
    # Numbers (Unix times, 0.5), a space for `T`, a date alone: none is RFC 3339.
    if not isinstance(value, str):
        raise ValueError(_TIME_FORMAT)
    match = _RFC3339.match(value)
    if match is None:
        raise ValueError(_TIME_FORMAT)
    if not EARLIEST_YEAR <= int(match["year"]) <= LATEST_YEAR:
        raise ValueError(f"must be a time between the years {EARLIEST_YEAR} and {LATEST_YEAR}")
    try:
        parsed = datetime.fromisoformat(value.upper())
    except ValueError:
        raise ValueError(_TIME_FORMAT) from None  # e.g. month 13, or second 60
    return parsed.astimezone(UTC)


UtcDatetime = Annotated[AwareDatetime, BeforeValidator(parse_utc)]
"""An RFC 3339 time that must carry an offset and fall within the years 2000 to 2199; held in UTC
once parsed. Used for every time a request (body, query or path) carries."""


class RequestModel(BaseModel):
    """The base of a request body: unknown fields are refused, and types are strict (a JSON
    boolean is not a number, a number is not a text)."""

    model_config = ConfigDict(extra="forbid", strict=True)


REF_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
"""The one format of a `ref` in every context: 1 to 64 characters of `A-Z a-z 0-9 _ . : -`,
starting with a letter or digit (so never `.` or `..`, which a URL path would resolve away)."""

Ref = Annotated[str, Field(min_length=1, max_length=64, pattern=REF_PATTERN)]
"""An opaque reservation reference such as `rsv_01jd…`, as the booking system makes them."""


Revision = Annotated[int, Field(ge=0, lt=2**53)]
"""A sender's revision or version of a record: a non-negative integer that JSON numbers hold
exactly and a 64-bit column stores (a larger one is a 422, never an overflow)."""


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None = None


class ErrorResponse(BaseModel):
    """The body of every error answer."""

    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorResponse} for status in (400, 401, 403, 404, 409, 413, 415, 422, 429)
}
"""For `responses=` on routers, so the OpenAPI document shows the error shape."""
