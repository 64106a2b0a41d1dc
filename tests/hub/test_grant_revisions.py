"""Grants follow their client's latest word: current-content repeats, revisions, bounds."""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from hallkey.hub.domain import generate_pin
from tests.hub.conftest import END, START, T0, HubWorld, iso

LATER = timedelta(hours=2)


def _move(hub: HubWorld, shift: timedelta, **extra: Any) -> Any:
    body = {"ref": "rsv_one", "valid_from": iso(START + shift), "valid_to": iso(END + shift)}
    return hub.post("UpdateAccess", {**body, **extra})


def test_grant_access__repeat_of_the_content_before_a_move__is_409_not_the_moved_grant(
    hub: HubWorld,
) -> None:
    hub.grant()
    assert _move(hub, LATER).status_code == 200

    again = hub.post("GrantAccess", hub.grant_body())
    assert again.status_code == 409, again.text
    assert again.json()["error"]["code"] == "ref_in_use"
    # What the grant holds now is what a repeat must carry.
    moved = hub.grant_body(valid_from=iso(START + LATER), valid_to=iso(END + LATER))
    repeat = hub.post("GrantAccess", moved)
    assert repeat.status_code == 200, repeat.text
    assert repeat.json()["valid_from"] == iso(START + LATER)


def test_grant_access__repeat_after_a_new_recipient__is_409(hub: HubWorld) -> None:
    hub.grant()
    changed = hub.post("UpdateAccess", {"ref": "rsv_one", "recipient": {"email": "x@example.org"}})
    assert changed.status_code == 200
    assert hub.post("GrantAccess", hub.grant_body()).status_code == 409


def test_update_access__lower_revision__is_409_stale_revision_and_changes_nothing(
    hub: HubWorld,
) -> None:
    hub.grant(revision=3)
    response = _move(hub, LATER, revision=2)
    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "stale_revision",
        "message": response.json()["error"]["message"],
        "field": "revision",
    }
    view = hub.get("grants/rsv_one").json()
    assert view["valid_from"] == iso(START)
    assert [d["template"] for d in view["deliveries"]].count("access_changed") == 0
    # The same or a newer revision is taken, and the newest one is kept.
    assert _move(hub, LATER, revision=3).status_code == 200
    assert _move(hub, LATER * 2, revision=5).status_code == 200
    assert _move(hub, LATER, revision=4).status_code == 409


def test_revoke_access__lower_revision__is_409_and_the_code_keeps_working(hub: HubWorld) -> None:
    code = hub.grant(revision=2)["code"]
    hub.run_jobs()
    response = hub.post("RevokeAccess", {"ref": "rsv_one", "revision": 1})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "stale_revision"
    hub.run_jobs()
    assert hub.get("grants/rsv_one").json()["state"] == "active"
    assert hub.ctx.connectors.memory.try_code("door-a", code, START).granted


def test_grant_access__lower_revision_than_the_grants__is_409_stale_revision(
    hub: HubWorld,
) -> None:
    hub.grant(revision=4)
    response = hub.post("GrantAccess", hub.grant_body(revision=3))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "stale_revision"
    assert hub.post("GrantAccess", hub.grant_body(revision=4)).status_code == 200


def test_grant_access__revoked_ref_without_a_newer_revision__is_409_grant_revoked(
    hub: HubWorld,
) -> None:
    hub.grant(revision=1)
    assert hub.post("RevokeAccess", {"ref": "rsv_one"}).status_code == 200
    for body in (hub.grant_body(), hub.grant_body(revision=1)):
        response = hub.post("GrantAccess", body)
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "grant_revoked"
    assert hub.get("grants/rsv_one").json()["state"] == "revoked"


def test_grant_access__revoked_ref_with_a_newer_revision__is_granted_again_with_a_new_code(
    hub: HubWorld,
) -> None:
    old = hub.grant(revision=1, deliver_via=["sms"])["code"]
    hub.run_jobs()
    assert hub.post("RevokeAccess", {"ref": "rsv_one"}).status_code == 200
    hub.run_jobs()
    lock = hub.ctx.connectors.memory
    assert lock.try_code("door-a", old, START).reason == "revoked"

    body = hub.grant_body(
        revision=2,
        doors=["door-a", "door-b"],
        valid_from=iso(START + LATER),
        valid_to=iso(END + LATER),
        deliver_via=["sms"],
    )
    response = hub.post("GrantAccess", body)
    assert response.status_code == 201, response.text
    grant = response.json()
    assert grant["state"] == "active"
    assert grant["code"] != old
    assert grant["valid_from"] == iso(START + LATER)
    assert [d["state"] for d in grant["doors"]] == ["pending", "pending"]
    hub.run_jobs()

    view = hub.get("grants/rsv_one").json()
    assert [d["state"] for d in view["doors"]] == ["programmed", "programmed"]
    assert [d["template"] for d in view["deliveries"]] == [
        "access_granted",
        "access_revoked",
        "access_granted",
    ]
    assert lock.try_code("door-a", grant["code"], START + LATER).ref == "rsv_one"
    assert lock.try_code("door-b", grant["code"], START + LATER).ref == "rsv_one"
    assert not lock.try_code("door-a", old, START).granted
    # A repeat of the call that granted it again is a repeat.
    assert hub.post("GrantAccess", body).status_code == 200


@pytest.mark.parametrize("revision", [-1, 2**53, "3", True, 1.5])
def test_grant_access__revision_out_of_range_or_not_an_integer__is_422(
    hub: HubWorld, revision: object
) -> None:
    response = hub.post("GrantAccess", hub.grant_body(revision=revision))
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == "revision"
    assert hub.get("grants/rsv_one").status_code == 404


def test_grant_access__largest_revision__is_taken(hub: HubWorld) -> None:
    top = 2**53 - 1
    assert hub.post("GrantAccess", hub.grant_body(revision=top)).status_code == 201
    assert hub.post("RevokeAccess", {"ref": "rsv_one", "revision": top}).status_code == 200


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"valid_to": iso(START + timedelta(days=31, seconds=1))}, "valid_to"),
        # Years 1 and 9999 are refused by the core time type, on the first field it reads.
        ({"valid_from": "0001-01-01T00:00:00Z"}, "valid_from"),
        ({"valid_from": "9999-12-30T00:00:00Z", "valid_to": "9999-12-31T00:00:00Z"}, "valid_from"),
        (
            {
                "valid_from": None,
                "valid_to": None,
                "windows": [
                    {"valid_from": iso(START), "valid_to": iso(END)},
                    {"valid_from": iso(START), "valid_to": iso(START + timedelta(days=32))},
                ],
            },
            "windows.1.valid_to",
        ),
        (
            {
                "valid_from": None,
                "valid_to": None,
                "windows": [
                    {"valid_from": iso(START), "valid_to": iso(END)},
                    {
                        "valid_from": iso(START + timedelta(days=400)),
                        "valid_to": iso(END + timedelta(days=400)),
                    },
                ],
            },
            "windows.1.valid_to",
        ),
    ],
)
def test_grant_access__window_or_span_too_long__is_422_on_the_field(
    hub: HubWorld, overrides: dict[str, Any], field: str
) -> None:
    body = {k: v for k, v in hub.grant_body(**overrides).items() if v is not None}
    response = hub.post("GrantAccess", body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field
    assert hub.get("grants/rsv_one").status_code == 404


def test_update_access__window_too_long__is_422_and_changes_nothing(hub: HubWorld) -> None:
    hub.grant()
    response = hub.post(
        "UpdateAccess", {"ref": "rsv_one", "valid_to": iso(START + timedelta(days=40))}
    )
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "valid_to"
    assert hub.get("grants/rsv_one").json()["valid_to"] == iso(END)


def test_grant_access__longest_window_and_span__are_taken(hub: HubWorld) -> None:
    start = T0 + timedelta(days=369)
    body = hub.grant_body(valid_from=iso(start), valid_to=iso(start + timedelta(days=31)))
    assert hub.post("GrantAccess", body).status_code == 201


def _proposing_first(code: str) -> Callable[..., str]:
    """Returns generate_pin made to propose `code` first, then random codes."""
    real = generate_pin

    def generate(length: int, is_taken: Callable[[str], bool], **tries: int) -> str:
        digits = itertools.chain((int(c) for c in code), iter(lambda: -1, 0))

        def randbelow(n: int) -> int:
            digit = next(digits)
            return digit if digit >= 0 else secrets.randbelow(n)

        return real(length, is_taken, randbelow, **tries)

    return generate


@pytest.mark.parametrize("quick_tries", [8, 0], ids=["by_digest", "crowded_door_read_whole"])
def test_grant_access__overlapping_grants_at_one_door__never_share_a_code(
    hub: HubWorld, monkeypatch: pytest.MonkeyPatch, quick_tries: int
) -> None:
    # A new code is checked by its digest first; with no quick tries left (a crowded door) the
    # door's taken codes are read whole: either way no two overlapping grants share a code.
    monkeypatch.setattr("hallkey.hub.grant_checks.QUICK_PIN_TRIES", quick_tries)
    first = hub.grant("rsv_0")["code"]
    # Every later grant is first offered the code rsv_0 holds at the same door and time.
    monkeypatch.setattr("hallkey.hub.grant_checks.generate_pin", _proposing_first(first))
    codes = [first] + [hub.grant(f"rsv_{n}")["code"] for n in range(1, 6)]
    assert len(set(codes)) == len(codes)
    # Where the times do not overlap, the same code may be used again.
    apart = hub.grant(
        "rsv_apart",
        valid_from=iso(START + timedelta(days=1)),
        valid_to=iso(END + timedelta(days=1)),
    )
    assert apart["code"] == first
    hub.run_jobs()
    for n in range(6):
        assert hub.get(f"grants/rsv_{n}").json()["doors"][0]["state"] == "programmed"
