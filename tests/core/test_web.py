"""The gate every API shares: keys before bodies, capped JSON bodies, key kinds, OpenAPI,
the wrong-key throttle, bounded metrics and security headers.

Each test goes through the real contexts' APIs (the demo, served by one app).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from tests.core.conftest import Web
from tests.servers import serving

MB = 1024 * 1024
WRONG_HUB_KEY = {"Authorization": "Bearer hkh_0000000000000000.not-the-secret"}
WRONG_LOCKS_KEY = {"Authorization": "Bearer hkl_0000000000000000.not-the-secret"}


def _json_endpoints(web: Web) -> list[tuple[str, str, str]]:
    """(context, method, path) of authenticated endpoints that take a JSON body."""
    return [
        ("booking", "POST", "/api/v1/reservations"),
        ("hub", "POST", "/hub/v1/GrantAccess"),
        ("hub", "POST", "/hub/v1/UpdateAccess"),
        ("locks", "POST", f"/locks/v1/doors/{web.door}/keypad"),
    ]


def test_request__unauthenticated_5mb_body__401_before_the_body_is_read(web: Web) -> None:
    blob = b"[" + b"1," * (5 * MB // 2) + b"1]"
    with web.client() as client:
        for _, method, path in [
            *_json_endpoints(web),
            ("hub", "POST", "/hub/v1/controller-events"),
        ]:
            for headers in ({}, WRONG_HUB_KEY):
                response = client.request(
                    method,
                    path,
                    content=blob,
                    headers={**headers, "Content-Type": "application/json"},
                )
                assert response.status_code == 401, (path, response.text)
                assert response.json()["error"]["code"] == "unauthorized"
                assert response.headers["WWW-Authenticate"] == "Bearer"


def test_request__authenticated_2mb_body__413_naming_the_body(web: Web) -> None:
    blob = b"{" + b" " * (2 * MB) + b"}"
    with web.client() as client:
        for role, method, path in _json_endpoints(web):
            headers = {**web.auth(role), "Content-Type": "application/json"}
            response = client.request(method, path, content=blob, headers=headers)
            assert response.status_code == 413, (path, response.text)
            assert response.json()["error"] == {
                "code": "payload_too_large",
                "message": response.json()["error"]["message"],
                "field": "body",
            }


def _chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    yield b"{"
    for _ in range(total // size):
        yield b" " * size
    yield b"}"


def test_request__streamed_2mb_body_without_content_length__413(web: Web) -> None:
    with web.client() as client:
        for role, method, path in _json_endpoints(web):
            headers = {**web.auth(role), "Content-Type": "application/json"}
            response = client.request(method, path, content=_chunks(2 * MB), headers=headers)
            assert "content-length" not in response.request.headers
            assert response.status_code == 413, (path, response.text)
            assert response.json()["error"]["field"] == "body"


def _other_kind(key: str, prefix: str) -> str:
    """Returns the same key id and secret under another kind's prefix."""
    return prefix + key[key.index("_") :]


@pytest.mark.parametrize(
    ("role", "path", "foreign_prefix"),
    [
        ("booking", "/api/v1/reservations/rsv_none", "hkh"),
        ("hub", "/hub/v1/doors", "hkb"),
        ("hub", "/hub/v1/doors", "hke"),
        ("locks", "/locks/v1/doors", "hkh"),
    ],
)
def test_api_key__right_secret_under_another_kinds_prefix__401(
    web: Web, role: str, path: str, foreign_prefix: str
) -> None:
    key = web.auth(role)["Authorization"].removeprefix("Bearer ")
    with web.client() as client:
        assert client.get(path, headers=web.auth(role)).status_code in (200, 404)
        response = client.get(
            path, headers={"Authorization": f"Bearer {_other_kind(key, foreign_prefix)}"}
        )
    assert response.status_code == 401, response.text


@pytest.mark.parametrize(
    ("document", "public"),
    [
        (
            "/api/openapi.json",
            {
                ("get", "/api/v1/resources"),
                ("get", "/api/v1/resources/{resource_id}/availability"),
                ("get", "/api/v1/resources/{resource_id}/price"),
                # Sign-in and sign-out: these check the session cookie themselves.
                ("post", "/api/v1/session"),
                ("get", "/api/v1/session"),
                ("delete", "/api/v1/session"),
                # Signed by the hub (Standard Webhooks), no bearer key: as the SMS gateway's.
                ("post", "/api/v1/hub-webhook/{slug}"),
                # A customer's own: sign-in by link, then their session cookie (no bearer).
                ("post", "/api/v1/customer-session/link"),
                ("post", "/api/v1/customer-session"),
                ("delete", "/api/v1/customer-session"),
                ("get", "/api/v1/me"),
                ("get", "/api/v1/me/reservations"),
                ("post", "/api/v1/me/reservations"),
                ("get", "/api/v1/me/applications"),
                ("post", "/api/v1/me/calendar-feed"),
                # Anyone may apply to a round (throttled); calendar feeds: a resource's busy
                # time is public, a customer's feed's secret token is its proof.
                ("post", "/api/v1/rounds/{round_id}/applications"),
                # An applicant reads their application with its key (X-Application-Key).
                ("get", "/api/v1/rounds/{round_id}/applications/{application_id}"),
                ("get", "/api/v1/resources/{resource_id}/calendar.ics"),
                ("get", "/api/v1/calendar/{feed_token}.ics"),
            },
        ),
        ("/hub/openapi.json", {("get", "/hub/v1/keys"), ("post", "/hub/v1/sms/inbound")}),
        ("/locks/openapi.json", set()),
    ],
)
def test_openapi__each_document__declares_the_bearer_scheme_on_authenticated_operations(
    web: Web, document: str, public: set[tuple[str, str]]
) -> None:
    with web.client() as client:
        doc = client.get(document).json()
    schemes = doc["components"]["securitySchemes"]
    assert schemes and all(
        s == {"type": "http", "scheme": "bearer", "description": s["description"]}
        for s in schemes.values()
    )
    operations = [(m, p, op) for p, item in doc["paths"].items() for m, op in item.items()]
    assert operations
    for method, path, operation in operations:
        if (method, path) in public:
            assert "security" not in operation, path
        else:
            assert operation["security"] and all(
                name in schemes for requirement in operation["security"] for name in requirement
            ), path


def test_public_routes__without_a_key__answer_200(web: Web) -> None:
    with web.client() as client:
        assert client.get("/api/v1/resources").status_code == 200
        frame = {"from": "2026-11-26T08:00:00Z", "to": "2026-11-26T20:00:00Z"}
        assert (
            client.get(f"/api/v1/resources/{web.resource}/availability", params=frame).status_code
            == 200
        )
        assert client.get("/hub/v1/keys").json() == {"keys": []}  # no mobile key signed yet
        assert client.get("/healthz").status_code == 200
        assert client.get("/metrics").status_code == 200


def test_wrong_keys__21st_from_one_address__429_with_retry_after__other_addresses_unaffected(
    web: Web,
) -> None:
    with web.client("198.51.100.7") as attacker, web.client("198.51.100.8") as neighbour:
        for _ in range(20):
            assert attacker.get("/hub/v1/doors", headers=WRONG_HUB_KEY).status_code == 401
        refused = attacker.get("/hub/v1/doors", headers=WRONG_HUB_KEY)
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "too_many_requests"
        assert int(refused.headers["Retry-After"]) >= 1
        # Every further wrong key from the address is refused, in every context; others go on.
        assert attacker.get("/locks/v1/doors", headers=WRONG_LOCKS_KEY).status_code == 429
        assert neighbour.get("/hub/v1/doors", headers=web.auth("hub")).status_code == 200
        assert neighbour.get("/locks/v1/doors", headers=web.auth("locks")).status_code == 200


def test_wrong_keys__flood_from_a_shared_address__its_valid_keys_are_still_served(
    web: Web,
) -> None:
    # The hub and a keyless stranger behind one address (a proxy, a NAT, one host): the
    # stranger's wrong keys must not stall the hub's calls, or a revocation never reaches
    # the door while the stranger keeps sending one wrong key a second.
    with web.client("198.51.100.10") as shared:
        for _ in range(25):
            shared.get("/hub/v1/doors", headers=WRONG_HUB_KEY)
        assert shared.get("/hub/v1/doors", headers=WRONG_HUB_KEY).status_code == 429
        assert shared.get("/hub/v1/doors", headers=web.auth("hub")).status_code == 200
        assert shared.get("/locks/v1/doors", headers=web.auth("locks")).status_code == 200
        revoke = f"/locks/v1/doors/{web.door}/credentials/rsv_cancelled?version=1"
        assert shared.delete(revoke, headers=web.auth("locks")).status_code == 200


def test_missing_keys__are_not_counted_as_wrong_ones(web: Web) -> None:
    with web.client("198.51.100.9") as client:
        for _ in range(30):
            assert client.get("/hub/v1/doors").status_code == 401
        assert client.get("/hub/v1/doors", headers=web.auth("hub")).status_code == 200


def _series(metrics: str) -> set[str]:
    return {
        line.split(" ")[0]
        for line in metrics.splitlines()
        if line.startswith("hallkey_http_request_seconds_count")
    }


def test_metrics__50_made_up_methods__add_no_series(web: Web) -> None:
    with web.client() as client:
        client.request("MADEUP", "/hub/v1/doors")
        client.request("MADEUP", "/nowhere/at/all")
        before = _series(client.get("/metrics").text)
        for n in range(50):
            client.request(f"X{n}METHOD", "/hub/v1/doors")
            client.request(f"Y{n}METHOD", f"/nowhere/{n}")
        after = _series(client.get("/metrics").text)
    assert after - before <= {s for s in after if 'route="/metrics"' in s}
    assert not any("METHOD" in s for s in after)
    assert any('method="other"' in s for s in after)
    assert not any("/nowhere/" in s for s in after)  # unmatched paths keep one label


@pytest.mark.parametrize(
    ("role", "method", "path"),
    [
        ("booking", "GET", "/api/v1/resources"),
        ("booking", "GET", "/api/v1/reservations/rsv_none"),
        ("hub", "GET", "/hub/v1/doors"),
        ("hub", "GET", "/hub/v1/grants/rsv_none"),
        ("locks", "GET", "/locks/v1/doors"),
        ("locks", "POST", "/locks/v1/doors/nope/keypad"),
        (None, "GET", "/healthz"),
        (None, "GET", "/hub/openapi.json"),
        (None, "GET", "/no/such/page"),
    ],
)
def test_responses__carry_nosniff_no_referrer_and_no_store(
    web: Web, role: str | None, method: str, path: str
) -> None:
    headers = web.auth(role) if role else {}
    with web.client() as client:
        response = client.request(
            method, path, headers=headers, json={"code": "1"} if method == "POST" else None
        )
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"


def test_server__announces_no_server_software(web: Web) -> None:
    with serving(web.app) as server:
        response = httpx.get(f"{server.base_url}/healthz")
        refused = httpx.get(f"{server.base_url}/hub/v1/doors")
    assert response.status_code == 200 and refused.status_code == 401
    assert "server" not in response.headers and "server" not in refused.headers


def test_body__not_json__422_naming_the_body(web: Web) -> None:
    with web.client() as client:
        for role, method, path in _json_endpoints(web):
            headers = {**web.auth(role), "Content-Type": "application/json"}
            for content in (b"not json", b'{"ref": '):
                response = client.request(method, path, content=content, headers=headers)
                assert response.status_code == 422, response.text
                assert response.json()["error"]["field"] == "body"


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_body__not_declared_as_json__415(web: Web, content_type: str | None) -> None:
    with web.client() as client:
        for role, method, path in _json_endpoints(web):
            headers = web.auth(role) | ({"Content-Type": content_type} if content_type else {})
            response = client.request(method, path, content=b'{"code": "123456#"}', headers=headers)
            assert response.status_code == 415, (path, response.text)
            assert response.json()["error"]["code"] == "unsupported_media_type"
            assert response.json()["error"]["field"] == "body"


def _paths_in_matching_order(web: Web) -> list[str]:
    """The app's route paths in the order a request is matched against them."""
    return [getattr(route, "path", "") for route in web.app.router.routes]


def test_routes__are_the_routes_each_context_declared__none_built_again(web: Web) -> None:
    """The app holds the very routes the contexts' routers declared (which the OpenAPI
    documents describe), not copies that FastAPI would build again at the first request."""
    routers = [router for part in web.contexts.parts for router in part.routers]
    declared = {id(route) for router in routers for route in router.routes}
    held = {id(route) for route in web.app.router.routes}
    assert len(declared) > 100 and declared <= held


def test_routes__the_versioned_apis_are_matched_before_any_page(web: Web) -> None:
    paths = _paths_in_matching_order(web)
    api = [i for i, path in enumerate(paths) if re.match(r"^/(api|hub|locks)/v1/", path)]
    pages = [i for i, path in enumerate(paths) if path in ("/", "/admin/requests", "/k/{token}")]
    assert len(pages) == 3
    assert max(api) < min(pages)
    # Every context's routes are still there, each once per method.
    assert "/locks/v1/credentials/{ref}" in paths
    assert "/hub/admin/login" in paths
    with web.client() as client:  # and a page still answers as a page
        assert client.get("/").status_code == 200
