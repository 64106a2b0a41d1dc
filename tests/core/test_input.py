"""Input every API refuses with a 422 naming the field: times that are not RFC 3339 with an
offset or fall outside the years 2000 to 2199, and values of the wrong JSON type."""

from __future__ import annotations

from typing import Any

import pytest

from tests.core.conftest import Web


def _reservation(web: Web, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resource_id": web.resource,
        "start": "2026-11-26T18:00:00Z",
        "end": "2026-11-26T19:00:00Z",
        "customer": {"name": "Ola Nordmann", "phone": "+4741234567", "email": "ola@example.org"},
    }
    body.update(overrides)
    return body


NOT_RFC3339 = [
    1795716000,  # 2026-11-26T18:00:00Z as a Unix time
    "1795716000",
    0.5,
    "0.5",
    True,
    "2026-11-26 18:00:00Z",
    "2026-11-26",
    "2026-11-26T18:00:00",
    "2026-11-26T18:00Z",
    "2026-13-26T18:00:00Z",
]


@pytest.mark.parametrize("value", NOT_RFC3339, ids=repr)
def test_reservation__time_not_rfc3339_with_offset__422_naming_the_field(
    web: Web, value: object
) -> None:
    with web.client() as client:
        response = client.post(
            "/api/v1/reservations", json=_reservation(web, start=value), headers=web.auth("booking")
        )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == "start"


YEARS = [
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "9999-12-31T23:59:59-12:00",
    "1999-12-31T23:59:59Z",
]


@pytest.mark.parametrize("when", YEARS)
def test_booking_api__time_outside_years_2000_to_2199__422_naming_the_field(
    web: Web, when: str
) -> None:
    with web.client() as client:
        day = 10 + YEARS.index(when)  # a day of its own: the demo is shared by the module
        frame = {"start": f"2026-12-{day}T18:00:00Z", "end": f"2026-12-{day}T19:00:00Z"}
        created = client.post(
            "/api/v1/reservations", json=_reservation(web, **frame), headers=web.auth("booking")
        )
        assert created.status_code == 201, created.text
        moved = f"/api/v1/reservations/{created.json()['id']}"
        cases = [
            ("POST", "/api/v1/reservations", {"json": _reservation(web, start=when)}, "start"),
            ("POST", "/api/v1/reservations", {"json": _reservation(web, end=when)}, "end"),
            ("PATCH", moved, {"json": {"end": when}}, "end"),
            ("PATCH", moved, {"json": {"start": when, "end": when}}, "start"),
            (
                "GET",
                f"/api/v1/resources/{web.resource}/availability",
                {"params": {"from": when, "to": "2026-11-27T00:00:00Z"}},
                "from",
            ),
            (
                "GET",
                f"/api/v1/resources/{web.resource}/availability",
                {"params": {"from": "2026-11-26T00:00:00Z", "to": when}},
                "to",
            ),
        ]
        for method, path, kwargs, field in cases:
            response = client.request(method, path, headers=web.auth("booking"), **kwargs)
            assert response.status_code == 422, (method, path, response.text)
            assert response.json()["error"]["field"] == field
        assert client.get(moved, headers=web.auth("booking")).json()["end"] == frame["end"]


@pytest.mark.parametrize("when", YEARS)
def test_hub_api__time_outside_years_2000_to_2199__422_naming_the_field(
    web: Web, when: str
) -> None:
    grant = {
        "ref": "rsv_years",
        "doors": [web.door],
        "valid_from": "2026-11-26T18:00:00Z",
        "valid_to": "2026-11-26T19:00:00Z",
    }
    window = {"valid_from": "2026-11-26T18:00:00Z", "valid_to": when}
    cases: list[tuple[str, str, dict[str, Any], str]] = [
        ("POST", "/hub/v1/GrantAccess", {"json": grant | {"valid_from": when}}, "valid_from"),
        ("POST", "/hub/v1/GrantAccess", {"json": grant | {"valid_to": when}}, "valid_to"),
        (
            "POST",
            "/hub/v1/GrantAccess",
            {"json": {"ref": "rsv_years", "doors": [web.door], "windows": [window]}},
            "windows.0.valid_to",
        ),
        (
            "POST",
            "/hub/v1/UpdateAccess",
            {"json": {"ref": "rsv_years", "valid_to": when}},
            "valid_to",
        ),
        (
            "POST",
            "/hub/v1/UpdateAccess",
            {"json": {"ref": "rsv_years", "windows": [window]}},
            "windows.0.valid_to",
        ),
        ("GET", "/hub/v1/events", {"params": {"since": when}}, "since"),
    ]
    with web.client() as client:
        for method, path, kwargs, field in cases:
            response = client.request(method, path, headers=web.auth("hub"), **kwargs)
            assert response.status_code == 422, (method, path, response.text)
            assert response.json()["error"]["field"] == field
        assert client.get("/hub/v1/grants/rsv_years", headers=web.auth("hub")).status_code == 404


@pytest.mark.parametrize("when", YEARS)
def test_locks_api__time_outside_years_2000_to_2199__422_naming_the_field(
    web: Web, when: str
) -> None:
    window = {"valid_from": "2026-11-26T18:00:00Z", "valid_to": when}
    put = {"type": "pin", "code": "482915", "windows": [window]}
    cases: list[tuple[str, str, dict[str, Any], str]] = [
        (
            "PUT",
            f"/locks/v1/doors/{web.door}/credentials/rsv_years",
            {"json": put},
            "windows.0.valid_to",
        ),
        ("GET", "/locks/v1/events", {"params": {"since": when}}, "since"),
    ]
    with web.client() as client:
        for method, path, kwargs, field in cases:
            response = client.request(method, path, headers=web.auth("locks"), **kwargs)
            assert response.status_code == 422, (method, path, response.text)
            assert response.json()["error"]["field"] == field
        listed = client.get(f"/locks/v1/doors/{web.door}/credentials", headers=web.auth("locks"))
        assert "rsv_years" not in listed.text


def test_request_bodies__strict_types__422_naming_the_field(web: Web) -> None:
    customer = {"name": 12345, "phone": "+4741234567", "email": "ola@example.org"}
    cases = [
        ("booking", "/api/v1/reservations", _reservation(web, customer=customer), "customer.name"),
        ("booking", "/api/v1/reservations", _reservation(web, resource_id=1), "resource_id"),
        (
            "hub",
            "/hub/v1/GrantPulseAccess",
            {"ref": "rsv_x", "door": web.door, "seconds": True},
            "seconds",
        ),
        (
            "hub",
            "/hub/v1/GrantPulseAccess",
            {"ref": "rsv_x", "door": web.door, "seconds": "5"},
            "seconds",
        ),
        ("hub", "/hub/v1/RevokeAccess", {"ref": 12345}, "ref"),
        ("locks", f"/locks/v1/doors/{web.door}/pulse", {"seconds": True}, "seconds"),
        ("locks", f"/locks/v1/doors/{web.door}/pulse", {"seconds": 5.0}, "seconds"),
    ]
    with web.client() as client:
        for role, path, body, field in cases:
            response = client.post(path, json=body, headers=web.auth(role))
            assert response.status_code == 422, (path, body, response.text)
            assert response.json()["error"]["field"] == field, (path, response.text)
