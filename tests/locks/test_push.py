"""How the locks sender reads the hub's answer to a batch of door events."""

from __future__ import annotations

from typing import Any

from hallkey.locks.push import rejected_events

SENT: list[dict[str, Any]] = [{"id": "evt_a"}, {"id": "evt_b"}, {"id": "evt_c"}]


def test_hub_answer__rejections_by_index_and_id__name_the_events_sent() -> None:
    answer = {
        "accepted": 1,
        "rejected": [
            {"index": 0, "id": "evt_a", "code": "invalid", "message": "m", "field": "ref"},
            {"index": 2, "id": None, "code": "unknown field!\n", "message": "m", "field": "x"},
        ],
    }
    assert rejected_events(answer, SENT) == {"evt_a": "invalid", "evt_c": "unknown_field__"}


def test_hub_answer__rejections_that_name_no_event_sent__are_ignored() -> None:
    answer = {
        "rejected": [
            {"index": 1, "id": "evt_a", "code": "invalid"},  # index and id disagree: by id
            {"index": 7, "id": "evt_x", "code": "invalid"},
            {"index": True, "id": None, "code": "invalid"},
            "evt_b",
        ]
    }
    assert rejected_events(answer, SENT) == {"evt_a": "invalid"}


def test_hub_answer__of_an_older_hub_or_not_json__rejects_nothing() -> None:
    answers: list[object] = [{"accepted": 3}, None, [], {"rejected": "all"}]
    for answer in answers:
        assert rejected_events(answer, SENT) == {}
