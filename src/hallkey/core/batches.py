"""Batches taken item by item: the receiving side of the partial-batch protocol.

A receiver of a batch (door events from a controller at the hub, from the hub at the booking
system) validates each item on its own, stores the good ones and answers
`{"accepted": n, "rejected": [{"index", "id", "code", "message", "field"}]}`, so that one odd
item never blocks the others; the sender quarantines the rejected ones.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, Field, ValidationError

MAX_ITEM_ID_LENGTH = 64

Item = TypeVar("Item", bound=BaseModel)


class RejectedItem(BaseModel):
    """An item of a batch that was not stored, and why (never its content)."""

    index: int
    id: str | None
    code: str
    message: str
    field: str | None = Field(description="the field within the item")


class BatchAnswer(BaseModel):
    """How many items of a batch were taken (new or already stored), and which were not."""

    accepted: int
    rejected: list[RejectedItem] = Field(default_factory=list)


def rejected_item(
    index: int, raw: Any, code: str, message: str, field: str | None = None
) -> RejectedItem:
    """Returns the entry of `rejected` for the item at `index` of a batch."""
    item_id = raw.get("id") if isinstance(raw, dict) else None
    # The id is echoed only when it could be one: a made-up value is not sent back.
    if not isinstance(item_id, str) or not 1 <= len(item_id) <= MAX_ITEM_ID_LENGTH:
        item_id = None
    return RejectedItem(index=index, id=item_id, code=code, message=message, field=field)


def split_items(
    raw_items: Sequence[Any], model: type[Item]
) -> tuple[list[tuple[int, Item]], list[RejectedItem]]:
    """Returns the valid items of a batch (with their index) and the rejection of each other.

    Each item is validated as JSON, exactly as a request body is: the same strict rules for
    times and types, and the first error's field and message (never a value) say why.
    """
    valid: list[tuple[int, Item]] = []
    rejected: list[RejectedItem] = []
    for index, raw in enumerate(raw_items):
        try:
            valid.append((index, model.model_validate_json(json.dumps(raw))))
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(part) for part in first["loc"]) or None
            message = str(first["msg"])
            text = f"{field}: {message}" if field else message
            rejected.append(rejected_item(index, raw, "invalid", text, field))
    return valid, rejected
