"""A tiny door controller speaking the locks context's internal protocol, for connector tests.

It keeps its doors in a MemoryLockSystem, so the controller connector can be checked against
the same contract as the memory connector, over real HTTP.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from hallkey.hub.connectors import ConnectorError, Credential, MemoryLockSystem
from hallkey.hub.domain import Window

_STATUS = {"unknown_door": 404, "door_offline": 503}


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _z(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def fake_locks_app(system: MemoryLockSystem, api_key: str) -> FastAPI:
    """Returns an app serving `/locks/v1/doors/…` for the doors of `system`."""
    app = FastAPI()

    def refuse(status: int, code: str) -> JSONResponse:
        return JSONResponse({"error": {"code": code, "message": code}}, status_code=status)

    def run(request: Request, action: Any) -> JSONResponse:
        if request.headers.get("authorization") != f"Bearer {api_key}":
            return refuse(401, "unauthorized")
        try:
            return JSONResponse(action())
        except ConnectorError as exc:
            return refuse(_STATUS.get(exc.code, 409), exc.code)

    @app.put("/locks/v1/doors/{door}/credentials/{ref}")
    async def put_credential(door: str, ref: str, request: Request) -> JSONResponse:
        body = await request.json()
        windows = tuple(
            Window(_parse(w["valid_from"]), _parse(w["valid_to"])) for w in body["windows"]
        )

        def action() -> dict[str, Any]:
            system.program(door, ref, Credential(body["type"], body["code"], windows))
            return {"door": door, "ref": ref, "type": "pin", "windows": body["windows"],
                    "revoked": False}  # fmt: skip

        return run(request, action)

    @app.delete("/locks/v1/doors/{door}/credentials/{ref}")
    def delete_credential(door: str, ref: str, request: Request) -> JSONResponse:
        def action() -> dict[str, Any]:
            system.revoke(door, ref)
            return {"door": door, "ref": ref, "revoked": True}

        return run(request, action)

    @app.post("/locks/v1/doors/{door}/pulse")
    async def pulse(door: str, request: Request) -> JSONResponse:
        body = await request.json()

        def action() -> dict[str, Any]:
            until = system.pulse(door, int(body["seconds"]), body.get("ref"))
            return {"id": door, "name": door, "locked": False, "unlocked_until": _z(until),
                    "online": True}  # fmt: skip

        return run(request, action)

    @app.get("/locks/v1/doors/{door}")
    def get_door(door: str, request: Request) -> JSONResponse:
        def action() -> dict[str, Any]:
            status = system.status(door)
            return {"id": door, "name": door, "locked": True, "unlocked_until": None,
                    "online": status.online}  # fmt: skip

        return run(request, action)

    return app
