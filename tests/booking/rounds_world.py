"""Helpers of the application-round tests: a round's and an application's bodies, and a
round whose deadline has passed (for the access matrix, which cannot move its clock)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import update

from hallkey.booking.rounds_models import Round
from tests.booking.conftest import T0, Booking

PERIOD_FROM, PERIOD_TO = "2026-08-17", "2026-12-18"  # a Monday to a Friday: 18 Tuesdays
DEADLINE = "2026-06-01T10:00:00Z"
ORG_NUMBERS = ("974760673", "910000004", "910000012", "910000020")


def round_body(resource_ids: list[str], /, **extra: Any) -> dict[str, Any]:
    """Returns a valid body of a new round (deadline 1 June, the autumn season)."""
    body: dict[str, Any] = {
        "name": "Høstsesongen 2026",
        "period_from": PERIOD_FROM,
        "period_to": PERIOD_TO,
        "resource_ids": resource_ids,
        "deadline": DEADLINE,
    }
    body.update(extra)
    return body


def wish(resource_id: str, weekday: int, start: str, end: str, **extra: Any) -> dict[str, Any]:
    """Returns one wish (priority 1, age group 6-12, 20 participants unless given)."""
    body: dict[str, Any] = {
        "resource_id": resource_id,
        "weekday": weekday,
        "start_time": start,
        "end_time": end,
        "priority": 1,
        "age_group": "6-12",
        "participants": 20,
    }
    body.update(extra)
    return body


def application_body(
    name: str, org_number: str, wishes: list[dict[str, Any]], **extra: Any
) -> dict[str, Any]:
    """Returns a valid application of an organisation."""
    slug = name.lower().replace(" ", "")
    body: dict[str, Any] = {
        "organisation": {
            "name": name,
            "org_number": org_number,
            "email": f"post@{slug}.example.no",
            "phone": "+4791234567",
        },
        "wishes": wishes,
    }
    body.update(extra)
    return body


def open_round(booking: Booking, headers: dict[str, str], **extra: Any) -> dict[str, Any]:
    """Opens a round on the booking's main hall through the API; returns it."""
    made = booking.client.post(
        "/api/v1/rounds", json=round_body([booking.resource_id], **extra), headers=headers
    )
    assert made.status_code == 201, made.text
    data: dict[str, Any] = made.json()
    return data


def apply(booking: Booking, round_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Applies to a round as the public does (no token, the tenant named)."""
    booking.client.cookies.clear()
    made = booking.client.post(f"/api/v1/rounds/{round_id}/applications?tenant=testby", json=body)
    assert made.status_code == 201, made.text
    data: dict[str, Any] = made.json()
    return data


def close_round(booking: Booking, round_id: str) -> None:
    """Moves a round's deadline into the past (the matrix's clock must stay where it is)."""
    with booking.ctx.database.transaction() as session:
        session.execute(
            update(Round).where(Round.id == round_id).values(deadline_at=T0 - timedelta(minutes=1))
        )
