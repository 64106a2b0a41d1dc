"""Calls to a peer: kept clients reuse their connection, and survive the peer's restart."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from hallkey.core.http import PeerClients, call_json, make_client
from tests.servers import ServerThread


async def _whoami(request: Request) -> JSONResponse:
    # The caller's end of the connection: the same port means the same connection.
    client = request.client
    return JSONResponse({"port": client.port if client else None})


def _app() -> Starlette:
    return Starlette(routes=[Route("/whoami", _whoami)])


def _port_seen(base_url: str, key: str) -> int:
    with make_client(base_url, key, 5.0) as client:
        return int(call_json(client, "GET", "/whoami").json()["port"])


def test_peer_calls__one_after_another__share_one_connection() -> None:
    server = ServerThread(_app()).start()
    try:
        first = _port_seen(server.base_url, "key-a")
        assert _port_seen(server.base_url, "key-a") == first
        assert _port_seen(server.base_url, "key-a") == first
    finally:
        server.stop()


def test_peer_call__after_the_peer_restarted__gets_through_on_a_new_connection() -> None:
    server = ServerThread(_app()).start()
    try:
        first = _port_seen(server.base_url, "key-b")
        server.stop()
        server.start()
        assert _port_seen(server.base_url, "key-b") != first
    finally:
        server.stop()


def test_peer_clients__another_key_or_peer__gets_its_own_client_and_the_oldest_is_dropped() -> None:
    clients = PeerClients(limit=2)
    a = clients.get("http://127.0.0.1:1", "key-1", 5.0)
    assert clients.get("http://127.0.0.1:1/", "key-1", 5.0) is a
    b = clients.get("http://127.0.0.1:1", "key-2", 5.0)
    assert b is not a
    clients.get("http://127.0.0.1:2", "key-1", 5.0)
    # Three peers in a pool of two: the least recently used (a) was dropped, b was kept.
    assert clients.get("http://127.0.0.1:1", "key-2", 5.0) is b
    assert clients.get("http://127.0.0.1:1", "key-1", 5.0) is not a
