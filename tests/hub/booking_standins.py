"""Stand-ins for the booking system's `POST /api/v1/access-events`, served on loopback."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse

BOOKING_TOKEN = "bkt_test.events-token"

Refusal = Callable[[dict[str, Any]], str | None]
"""Returns the error code for an event the receiver refuses, None for one it takes."""


def _authorised(request: Request) -> None:
    if request.headers.get("authorization") != f"Bearer {BOOKING_TOKEN}":
        raise HTTPException(401)


def protocol_booking_app(
    received: dict[str, dict[str, Any]], refuse: Refusal, calls: Counter[str] | None = None
) -> FastAPI:
    """A receiver of the partial-batch protocol: takes the good events of a batch, lists the
    refused ones in `rejected` (index, id, code). `calls` counts each event id received."""
    app = FastAPI()

    @app.post("/api/v1/access-events")
    async def access_events(request: Request) -> dict[str, Any]:
        _authorised(request)
        body = await request.json()
        rejected: list[dict[str, Any]] = []
        for index, event in enumerate(body["events"]):
            if calls is not None:
                calls[event["id"]] += 1
            code = refuse(event)
            if code is None:
                received[event["id"]] = event
            else:
                rejected.append(
                    {
                        "index": index,
                        "id": event["id"],
                        "code": code,
                        "message": "no",
                        "field": "ref",
                    }
                )
        return {"accepted": len(body["events"]) - len(rejected), "rejected": rejected}

    return app


def strict_old_booking_app(received: dict[str, dict[str, Any]], refuse: Refusal) -> FastAPI:
    """An older receiver: one refused event makes it answer 422 to the whole batch."""
    app = FastAPI()

    @app.post("/api/v1/access-events")
    async def access_events(request: Request) -> Any:
        _authorised(request)
        body = await request.json()
        if any(refuse(event) for event in body["events"]):
            error = {"code": "invalid", "message": "events: bad ref", "field": "events.0.ref"}
            return JSONResponse({"error": error}, status_code=422)
        for event in body["events"]:
            received[event["id"]] = event
        return {"accepted": len(body["events"])}

    return app
