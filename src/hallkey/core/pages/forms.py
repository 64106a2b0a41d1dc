"""Reading the small urlencoded forms the pages post."""

from __future__ import annotations

from urllib.parse import parse_qs

from starlette.requests import Request

MAX_FORM_BYTES = 16 * 1024
MAX_FIELDS = 50


async def read_form(request: Request) -> dict[str, str]:
    """Returns the fields of an urlencoded form (the first value of each); an oversized or
    other body reads as an empty form, which every page refuses for its missing CSRF field."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return {}
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    try:
        parsed = parse_qs(body.decode("utf-8", "replace"), max_num_fields=MAX_FIELDS)
    except ValueError:  # more fields than any page has
        return {}
    return {key: values[0] for key, values in parsed.items() if values}
