"""The controller connector's one request for several doors, over real HTTP: what it sends,
how a whole request's failure maps onto each door, and the door-by-door fallback on a
controller older than the batch routes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from hallkey.core.clock import ManualClock
from hallkey.core.settings import Settings
from hallkey.core.web import create_app
from hallkey.hub.connectors import ConnectorError, Credential, DoorTarget
from hallkey.hub.connectors.base import DoorOutcomes, program_each, revoke_each
from hallkey.hub.connectors.controller import ControllerConnector
from hallkey.hub.domain import Window
from hallkey.locks import build_part, create_context, create_controller, create_door
from hallkey.locks.models import Door
from tests.servers import ServerThread

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
PIN = Credential(
    "pin", "482915", (Window(NOW + timedelta(hours=1), NOW + timedelta(hours=2)),), version=1
)
FRONT = DoorTarget(id="hub-front", remote_id="front", site_id="site_1")
BACK = DoorTarget(id="back", remote_id="back", site_id="site_1")
NOWHERE = DoorTarget(id="hub-nowhere", remote_id="nowhere", site_id="site_1")
BATCH_PUT = ("PUT", "/locks/v1/credentials/rsv_b")
BATCH_REVOKE = ("POST", "/locks/v1/credentials/rsv_b/revoke")


_OLD_CONTROLLER = {
    404: {"error": {"code": "not_found", "message": "Not Found"}},
    405: {"error": {"code": "method_not_allowed", "message": "Method Not Allowed"}},
}
"""What a controller older than the batch routes answers on their paths, as its app would."""


class Recorder:
    """Passes every request on to the app, noting its method and path; with `older`, answers
    the batch paths as a controller without those routes does."""

    def __init__(self, app: ASGIApp, older: int | None) -> None:
        self.app = app
        self.older = older
        self.seen: list[tuple[str, str]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.seen.append((scope["method"], scope["path"]))
            if self.older is not None and scope["path"].startswith("/locks/v1/credentials/"):
                answer = JSONResponse(_OLD_CONTROLLER[self.older], status_code=self.older)
                await answer(scope, receive, send)
                return
        await self.app(scope, receive, send)


@dataclass
class Controller:
    connector: ControllerConnector
    seen: list[tuple[str, str]]
    hub_doors: dict[str, str | None] = field(default_factory=dict)


def _codes(outcomes: DoorOutcomes) -> dict[str, tuple[str, bool] | None]:
    return {
        door: None if error is None else (error.code, error.retryable)
        for door, error in outcomes.items()
    }


@contextmanager
def _controller(data_dir: Path, older: int | None = None) -> Iterator[Controller]:
    """A door controller with the doors `front` and `back`; with `older` (404 or 405), one
    older than the batch routes."""
    settings = Settings(
        data_dir=data_dir,
        locks_database_url=f"sqlite:///{data_dir / 'locks.db'}",
        secret_key="batch-test",
    )
    locks = create_context(settings, ManualClock(NOW))
    with locks.database.transaction() as session:
        controller_id, key = create_controller(locks, session, name="Batch")
        for door_id in ("front", "back"):
            create_door(locks, session, controller_id=controller_id, name=door_id, door_id=door_id)
    recorder = Recorder(create_app([build_part(locks)], run_workers=False), older)
    server = ServerThread(recorder).start()
    try:
        controller = Controller(ControllerConnector(server.base_url, key, 30.0), recorder.seen)
        yield controller
        with locks.database.read() as session:
            controller.hub_doors.update(session.execute(select(Door.id, Door.hub_door_id)).all())
    finally:
        server.stop()
        locks.close()


def test_program_each__on_the_controller__is_one_request_with_each_doors_hub_id(
    tmp_path: Path,
) -> None:
    with _controller(tmp_path) as controller:
        doors = [FRONT, NOWHERE, BACK]
        outcomes = program_each(controller.connector, doors, "rsv_b", PIN)
        assert _codes(outcomes) == {
            FRONT.id: None,
            NOWHERE.id: ("unknown_door", False),
            BACK.id: None,
        }
        assert controller.seen == [BATCH_PUT]
        for door in (FRONT, BACK):
            held = controller.connector.live_credentials(door)
            assert [(c.ref, c.windows, c.version) for c in held] == [("rsv_b", PIN.windows, 1)]
        controller.seen.clear()
        assert _codes(revoke_each(controller.connector, doors, "rsv_b", 2)) == _codes(outcomes)
        assert controller.seen == [BATCH_REVOKE]
        assert controller.connector.live_credentials(FRONT) == []
    # `hub_door` went only for the door whose ids differ, as `program` sends it.
    assert controller.hub_doors == {"front": "hub-front", "back": None}


@pytest.mark.parametrize("older", [404, 405])
def test_program_each__controller_without_the_batch_routes__goes_door_by_door(
    tmp_path: Path, older: int
) -> None:
    with _controller(tmp_path, older) as controller:
        doors = [FRONT, NOWHERE, BACK]
        outcomes = program_each(controller.connector, doors, "rsv_b", PIN)
        # Each door as the single call answers it: the missing route marks no door unknown.
        assert _codes(outcomes) == {
            FRONT.id: None,
            NOWHERE.id: ("unknown_door", False),
            BACK.id: None,
        }
        assert controller.seen == [
            BATCH_PUT,
            ("PUT", "/locks/v1/doors/front/credentials/rsv_b"),
            ("PUT", "/locks/v1/doors/nowhere/credentials/rsv_b"),
            ("PUT", "/locks/v1/doors/back/credentials/rsv_b"),
        ]
        assert [c.ref for c in controller.connector.live_credentials(BACK)] == ["rsv_b"]
        controller.seen.clear()
        revoked = revoke_each(controller.connector, [FRONT, BACK], "rsv_b", 2)
        assert _codes(revoked) == {FRONT.id: None, BACK.id: None}
        assert controller.seen == [
            BATCH_REVOKE,
            ("DELETE", "/locks/v1/doors/front/credentials/rsv_b"),
            ("DELETE", "/locks/v1/doors/back/credentials/rsv_b"),
        ]
        assert controller.connector.live_credentials(BACK) == []
    assert controller.hub_doors == {"front": "hub-front", "back": None}


def test_program_each__a_refused_key__is_every_doors_door_offline(tmp_path: Path) -> None:
    with _controller(tmp_path) as controller:
        wrong = ControllerConnector(controller.connector.base_url, "hkl_x.wrong", 30.0)
        doors = [FRONT, BACK]
        offline = {door.id: ("door_offline", True) for door in doors}
        assert _codes(program_each(wrong, doors, "rsv_b", PIN)) == offline
        assert _codes(revoke_each(wrong, doors, "rsv_b", 1)) == offline
        assert controller.seen == [BATCH_PUT, BATCH_REVOKE]  # no fallback for a 401


@contextmanager
def _answering(status: int, body: object) -> Iterator[tuple[ControllerConnector, list[str]]]:
    """A server that answers every request with `status` and `body`."""
    seen: list[str] = []

    async def answer(request: Request) -> JSONResponse:
        seen.append(f"{request.method} {request.url.path}")
        return JSONResponse(body, status_code=status)

    methods = ["GET", "PUT", "POST", "DELETE"]
    server = ServerThread(Starlette(routes=[Route("/{path:path}", answer, methods=methods)]))
    server.start()
    try:
        yield ControllerConnector(server.base_url, "hkl_x.y", 10.0), seen
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (500, "error", ("door_offline", True)),
        (503, "busy", ("door_offline", True)),
        (403, "forbidden", ("door_offline", True)),
        (422, "invalid", ("unsupported", False)),
        (409, "code_rejected", ("code_rejected", False)),
    ],
)
def test_program_each__a_failed_request__is_each_doors_error_as_for_one_door(
    status: int, code: str, expected: tuple[str, bool]
) -> None:
    error = {"error": {"code": code, "message": "no"}}
    with _answering(status, error) as (connector, seen):
        doors = [FRONT, BACK]
        outcomes = program_each(connector, doors, "rsv_b", PIN)
        assert _codes(outcomes) == {door.id: expected for door in doors}
        with pytest.raises(ConnectorError) as one:  # the single call, for comparison
            connector.program(FRONT, "rsv_b", PIN)
        assert (one.value.code, one.value.retryable) == expected
        assert seen == [
            "PUT /locks/v1/credentials/rsv_b",
            "PUT /locks/v1/doors/front/credentials/rsv_b",
        ]


def test_program_each__an_answer_without_a_door__is_that_doors_door_offline() -> None:
    answer = {"ref": "rsv_b", "doors": [{"door": "front", "ok": True, "credential": {}}]}
    with _answering(200, answer) as (connector, _):
        outcomes = program_each(connector, [FRONT, BACK], "rsv_b", PIN)
        assert _codes(outcomes) == {FRONT.id: None, BACK.id: ("door_offline", True)}
