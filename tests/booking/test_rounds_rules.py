"""Application rounds: what is refused (org number, times, wishes outside the round, after the
deadline, another tenant's round), who sees an application, and publishing that fails halfway
and is finished by publishing again (nothing made or e-mailed twice)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from hallkey.booking import issue_api_token
from hallkey.booking.models import Resource
from hallkey.booking.rounds_emails import delivery_id
from hallkey.booking.rounds_models import Round, RoundApplication, RoundWish
from hallkey.booking.series_models import Series
from tests.booking.conftest import Booking
from tests.booking.rounds_world import (
    ORG_NUMBERS,
    application_body,
    apply,
    close_round,
    open_round,
    round_body,
    wish,
)
from tests.booking.test_customer_sign_in import KARI, book, sign_in
from tests.servers import serving

AFTER_DEADLINE = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)


def _error(response: Any) -> tuple[int, str, str | None]:
    error = response.json()["error"]
    return response.status_code, error["code"], error.get("field")


def _count(booking: Booking, model: Any) -> int:
    with booking.ctx.database.read() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"period_to": "2026-08-16"}, "period_to"),
        ({"period_to": "2027-09-01"}, "period_to"),
        ({"period_from": "2026-13-01"}, "period_from"),
        ({"deadline": "2026-05-01T10:00:00Z"}, "deadline"),
        ({"deadline": "2026-09-01T10:00:00Z"}, "deadline"),
        ({"deadline": "2026-06-01T10:00:00"}, "deadline"),
        ({"resource_ids": []}, "resource_ids"),
        ({"resource_ids": ["res_nope"]}, "resource_ids"),
        ({"name": " "}, "name"),
    ],
)
def test_round_create__bad_field__is_422_naming_it_and_stores_nothing(
    booking: Booking, change: dict[str, Any], field: str
) -> None:
    body = round_body([booking.resource_id], **change)
    answer = booking.client.post("/api/v1/rounds", json=body, headers=booking.headers())
    assert _error(answer)[0] == 422 and _error(answer)[2] == field, answer.text
    assert _count(booking, Round) == 0


def test_round_create__another_tenants_resource__is_422(booking: Booking) -> None:
    body = round_body([booking.resource_id, booking.other_resource_id])
    answer = booking.client.post("/api/v1/rounds", json=body, headers=booking.headers())
    assert _error(answer) == (422, "invalid", "resource_ids")


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("organisation", "org_number"), "974760674", "organisation.org_number"),
        (("organisation", "org_number"), "12345", "organisation.org_number"),
        (("organisation", "email"), "not-an-address", "organisation.email"),
        (("organisation", "phone"), "abc", "organisation.phone"),
        (("wishes", 0, "start_time"), "25:00", "wishes.0.start_time"),
        (("wishes", 0, "start_time"), "18.00", "wishes.0.start_time"),
        (("wishes", 0, "end_time"), "17:00", "wishes.0.end_time"),
        (("wishes", 0, "end_time"), "18:00", "wishes.0.end_time"),
        (("wishes", 0, "weekday"), 8, "wishes.0.weekday"),
        (("wishes", 0, "weekday"), 0, "wishes.0.weekday"),
        (("wishes", 0, "priority"), 0, "wishes.0.priority"),
        (("wishes", 0, "age_group"), "adults", "wishes.0.age_group"),
        (("wishes", 0, "participants"), 0, "wishes.0.participants"),
        (("wishes", 0, "resource_id"), "OTHER", "wishes.0.resource_id"),
        (("wishes",), [], "wishes"),
    ],
)
def test_apply__bad_field__is_422_naming_it_and_stores_nothing(
    booking: Booking, path: tuple[Any, ...], value: Any, field: str
) -> None:
    round_id = open_round(booking, booking.headers())["id"]
    body = application_body(
        "Testby IL", ORG_NUMBERS[0], [wish(booking.resource_id, 2, "18:00", "19:30")]
    )
    if value == "OTHER":
        value = booking.hours_resource_id  # the tenant's, but not in this round
    target: Any = body
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    answer = booking.client.post(f"/api/v1/rounds/{round_id}/applications?tenant=testby", json=body)
    assert _error(answer)[0] == 422 and _error(answer)[2] == field, answer.text
    assert _count(booking, RoundApplication) == 0
    assert _count(booking, RoundWish) == 0
    booking.ctx.worker.run_pending()
    assert list((booking.ctx.settings.outbox_dir / "booking").glob("app_*")) == []


def test_apply__org_number_with_spaces__is_stored_as_nine_digits(booking: Booking) -> None:
    round_id = open_round(booking, booking.headers())["id"]
    made = apply(
        booking,
        round_id,
        application_body(
            "Testby IL", "974 760 673", [wish(booking.resource_id, 2, "18:00", "19:30")]
        ),
    )
    assert made["org_number"] == "974760673"


def test_apply__after_the_deadline__is_409_round_closed_and_changes_nothing(
    booking: Booking,
) -> None:
    round_id = open_round(booking, booking.headers())["id"]
    booking.clock.set(AFTER_DEADLINE)
    body = application_body(
        "Testby IL", ORG_NUMBERS[0], [wish(booking.resource_id, 2, "18:00", "19:30")]
    )
    answer = booking.client.post(f"/api/v1/rounds/{round_id}/applications?tenant=testby", json=body)
    assert _error(answer)[:2] == (409, "round_closed")
    assert _count(booking, RoundApplication) == 0
    patch = booking.client.patch(
        f"/api/v1/rounds/{round_id}", json={"name": "Later"}, headers=booking.headers()
    )
    assert _error(patch)[:2] == (409, "round_closed")


def test_round__another_tenants__is_404_everywhere(booking: Booking) -> None:
    round_id = open_round(booking, booking.headers())["id"]
    made = apply(
        booking,
        round_id,
        application_body(
            "Testby IL", ORG_NUMBERS[0], [wish(booking.resource_id, 2, "18:00", "19:30")]
        ),
    )
    other = booking.headers(booking.other_token)
    for method, path in (
        ("GET", f"/api/v1/rounds/{round_id}"),
        ("PATCH", f"/api/v1/rounds/{round_id}"),
        ("GET", f"/api/v1/rounds/{round_id}/overview"),
        ("GET", f"/api/v1/rounds/{round_id}/applications"),
        ("GET", f"/api/v1/rounds/{round_id}/applications/{made['id']}"),
        ("GET", f"/api/v1/rounds/{round_id}/statistics"),
        ("POST", f"/api/v1/rounds/{round_id}/publish"),
    ):
        body = {"name": "Taken"} if method == "PATCH" else None
        answer = booking.client.request(method, path, json=body, headers=other)
        assert answer.status_code == 404, (method, path, answer.text)
        assert round_id not in answer.text and made["id"] not in answer.text
    assert booking.client.get("/api/v1/rounds", headers=other).json() == []
    body = application_body(
        "Annen IL", ORG_NUMBERS[1], [wish(booking.resource_id, 2, "18:00", "19:30")]
    )
    elsewhere = booking.client.post(
        f"/api/v1/rounds/{round_id}/applications?tenant=annenby", json=body
    )
    assert elsewhere.status_code == 404


def test_application__seen_with_its_key_only(booking: Booking) -> None:
    round_id = open_round(booking, booking.headers())["id"]
    body = application_body(
        "Testby IL", ORG_NUMBERS[0], [wish(booking.resource_id, 2, "18:00", "19:30")]
    )
    first, second = apply(booking, round_id, body), apply(booking, round_id, body)
    path = f"/api/v1/rounds/{round_id}/applications/{first['id']}"
    by_header = booking.client.get(path, headers={"X-Application-Key": first["key"]})
    assert by_header.status_code == 200 and by_header.json()["id"] == first["id"]
    assert "key" not in by_header.json()
    by_query = booking.client.get(f"{path}?key={first['key']}")
    assert by_query.status_code == 200
    for key in (second["key"], "x" * 43):
        wrong = booking.client.get(path, headers={"X-Application-Key": key})
        assert wrong.status_code == 404 and first["id"] not in wrong.text
    assert booking.client.get(path).status_code == 401
    with booking.ctx.database.read() as session:
        stored = session.get(RoundApplication, first["id"])
        assert stored is not None and first["key"] not in stored.key_hash


def test_apply__many_from_one_address__is_429(booking: Booking) -> None:
    round_id = open_round(booking, booking.headers())["id"]
    body = application_body(
        "Testby IL", ORG_NUMBERS[0], [wish(booking.resource_id, 2, "18:00", "19:30")]
    )
    statuses = [
        booking.client.post(
            f"/api/v1/rounds/{round_id}/applications?tenant=testby", json=body
        ).status_code
        for _ in range(31)
    ]
    assert statuses == [201] * 30 + [429]


def _decide_all(booking: Booking, round_id: str, applications: list[dict[str, Any]]) -> None:
    for application in applications:
        answer = booking.client.post(
            f"/api/v1/rounds/{round_id}/allocations",
            json={"wish_id": application["wishes"][0]["id"]},
            headers=booking.headers(),
        )
        assert answer.status_code == 201, answer.text


def test_publish__undecided_wish__is_409_naming_it(booking: Booking) -> None:
    round_id = open_round(booking, booking.headers())["id"]
    made = apply(
        booking,
        round_id,
        application_body(
            "Testby IL", ORG_NUMBERS[0], [wish(booking.resource_id, 2, "18:00", "19:30")]
        ),
    )
    booking.clock.set(AFTER_DEADLINE)
    answer = booking.client.post(f"/api/v1/rounds/{round_id}/publish", headers=booking.headers())
    assert _error(answer) == (409, "wishes_undecided", "wishes")
    assert made["wishes"][0]["id"] in answer.json()["error"]["message"]
    declined = booking.client.post(
        f"/api/v1/rounds/{round_id}/wishes/{made['wishes'][0]['id']}/decline",
        json={"reason": ""},
        headers=booking.headers(),
    )
    assert _error(declined)[::2] == (422, "reason")


def test_allocation__declined_wish_and_slot_outside_the_round__are_refused(
    booking: Booking,
) -> None:
    round_id = open_round(booking, booking.headers())["id"]
    made = apply(
        booking,
        round_id,
        application_body(
            "Testby IL",
            ORG_NUMBERS[0],
            [
                wish(booking.resource_id, 2, "18:00", "19:30"),
                wish(booking.resource_id, 4, "18:00", "19:30", priority=2),
            ],
        ),
    )
    first, second = (w["id"] for w in made["wishes"])
    booking.clock.set(AFTER_DEADLINE)
    url = f"/api/v1/rounds/{round_id}"
    headers = booking.headers()
    booking.client.post(f"{url}/wishes/{second}/decline", json={"reason": "Full"}, headers=headers)
    again = booking.client.post(f"{url}/allocations", json={"wish_id": second}, headers=headers)
    assert _error(again)[:2] == (409, "wish_declined")
    for body, field in (
        ({"wish_id": first, "resource_id": booking.hours_resource_id}, "resource_id"),
        ({"wish_id": first, "end_time": "17:00"}, "end_time"),
        ({"wish_id": first, "weekday": 9}, "weekday"),
        ({"wish_id": "wsh_nope"}, "wish_id"),
    ):
        answer = booking.client.post(f"{url}/allocations", json=body, headers=headers)
        assert _error(answer)[2] == field, answer.text
    given = booking.client.post(f"{url}/allocations", json={"wish_id": first}, headers=headers)
    assert given.status_code == 201
    twice = booking.client.post(f"{url}/allocations", json={"wish_id": first}, headers=headers)
    assert _error(twice)[:2] == (409, "wish_allocated")
    gone = booking.client.delete(f"{url}/allocations/{given.json()['id']}", headers=headers)
    assert gone.status_code == 204
    listed = booking.client.get(f"{url}/applications", headers=headers).json()
    assert [w["status"] for w in listed[0]["wishes"]] == ["wished", "declined"]


def test_publish__a_series_fails__the_rest_is_published_and_publishing_again_finishes(
    booking: Booking,
) -> None:
    headers = booking.headers()
    made = booking.client.post(
        "/api/v1/rounds",
        json=round_body([booking.resource_id, booking.hours_resource_id]),
        headers=headers,
    )
    round_id = made.json()["id"]
    hall = apply(
        booking,
        round_id,
        application_body(
            "Testby IL", ORG_NUMBERS[0], [wish(booking.resource_id, 2, "18:00", "19:30")]
        ),
    )
    room = apply(
        booking,
        round_id,
        application_body(
            "Testby Kor", ORG_NUMBERS[1], [wish(booking.hours_resource_id, 1, "18:00", "20:00")]
        ),
    )
    booking.clock.set(AFTER_DEADLINE)
    _decide_all(booking, round_id, [hall, room])
    with booking.ctx.database.transaction() as session:  # the room is taken out of use
        session.execute(
            update(Resource).where(Resource.id == booking.hours_resource_id).values(active=False)
        )
    first = booking.client.post(f"/api/v1/rounds/{round_id}/publish", headers=headers).json()
    assert first["round"]["status"] == "publishing"
    assert [p["wish_id"] for p in first["published"]] == [hall["wishes"][0]["id"]]
    (failed,) = first["failed"]
    assert failed["wish_id"] == room["wishes"][0]["id"] and failed["error"].startswith("invalid")
    assert first["emails_queued"] == 1  # the hall's club only: the choir waits for its series
    # What is published stays: the hall's series, and the hall club's result (sent).
    published = first["published"][0]["allocation_id"]
    kept = booking.client.delete(
        f"/api/v1/rounds/{round_id}/allocations/{published}", headers=headers
    )
    assert _error(kept)[:2] == (409, "allocation_published")
    told = booking.client.post(
        f"/api/v1/rounds/{round_id}/wishes/{hall['wishes'][0]['id']}/decline",
        json={"reason": "Changed our mind"},
        headers=headers,
    )
    assert _error(told)[:2] == (409, "result_sent")
    with booking.ctx.database.transaction() as session:
        session.execute(
            update(Resource).where(Resource.id == booking.hours_resource_id).values(active=True)
        )
    second = booking.client.post(f"/api/v1/rounds/{round_id}/publish", headers=headers).json()
    assert second["failed"] == [] and second["round"]["status"] == "published"
    assert second["emails_queued"] == 1
    assert second["published"][0] in first["published"] + second["published"]
    assert _count(booking, Series) == 2
    third = booking.client.post(f"/api/v1/rounds/{round_id}/publish", headers=headers).json()
    assert (third["emails_queued"], _count(booking, Series)) == (0, 2)
    failed_then = failed["allocation_id"]
    final = booking.client.delete(
        f"/api/v1/rounds/{round_id}/allocations/{failed_then}", headers=headers
    )
    assert _error(final)[:2] == (409, "round_published")
    booking.ctx.worker.run_pending()
    outbox: Path = booking.ctx.settings.outbox_dir / "booking"
    for application in (hall, room):
        sent = outbox / f"{delivery_id(application['id'], 'result')}-email.txt"
        assert sent.exists()
    assert len(list(outbox.glob("app_*_result-email.txt"))) == 2


def test_round__caretaker_and_customer__see_nothing_of_it(booking: Booking) -> None:
    round_id = open_round(booking, booking.headers())["id"]
    with booking.ctx.database.transaction() as session:
        reader = issue_api_token(
            booking.ctx,
            session,
            tenant_id=booking.tenant_id,
            name="r",
            scopes=["reservations:read"],
        )
    answer = booking.client.get(f"/api/v1/rounds/{round_id}", headers=booking.headers(reader))
    assert _error(answer)[:2] == (403, "insufficient_scope")
    close_round(booking, round_id)
    assert (
        booking.client.get(f"/api/v1/rounds/{round_id}", headers=booking.headers()).json()["status"]
        == "closed"
    )


def test_apply__as_a_signed_in_customer__lists_it_under_my_applications(
    booking: Booking,
) -> None:
    book(booking)  # Kari becomes a customer, who can then sign in
    round_id = open_round(booking, booking.headers())["id"]
    anonymous = apply(
        booking,
        round_id,
        application_body(
            "Annen IL", ORG_NUMBERS[1], [wish(booking.resource_id, 2, "18:00", "19:30")]
        ),
    )
    sign_in(booking)  # the client now holds Kari's session cookie
    body = application_body(
        "Kari IL", ORG_NUMBERS[0], [wish(booking.resource_id, 3, "18:00", "19:30")]
    )
    made = booking.client.post(f"/api/v1/rounds/{round_id}/applications?tenant=testby", json=body)
    assert made.status_code == 201, made.text
    mine = booking.client.get("/api/v1/me/applications")
    assert [a["id"] for a in mine.json()] == [made.json()["id"]]
    own = booking.client.get(f"/api/v1/rounds/{round_id}/applications/{made.json()['id']}")
    assert own.status_code == 200
    other = booking.client.get(f"/api/v1/rounds/{round_id}/applications/{anonymous['id']}")
    assert other.status_code == 404 and anonymous["id"] not in other.text
    booking.client.cookies.clear()
    assert booking.client.get("/api/v1/me/applications").status_code == 401


def _at_once(booking: Booking, calls: list[tuple[str, dict[str, Any] | None]]) -> list[int]:
    """Posts every call at once, each from its own thread and client over real HTTP; returns
    the statuses, sorted."""
    results: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(calls))
    with serving(booking.client.app) as server:

        def attempt(path: str, body: dict[str, Any] | None) -> None:
            with httpx.Client(base_url=server.base_url, timeout=60) as client:
                barrier.wait()
                answer = client.post(path, json=body, headers=booking.headers())
            with lock:
                results.append(answer.status_code)

        threads = [threading.Thread(target=attempt, args=call) for call in calls]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return sorted(results)


def test_allocate_and_publish__at_once__one_allocation_of_a_slot_and_one_series_each(
    booking: Booking,
) -> None:
    round_id = open_round(booking, booking.headers())["id"]
    clubs = [
        apply(
            booking,
            round_id,
            application_body(
                f"Klubb {n}", ORG_NUMBERS[n], [wish(booking.resource_id, 2, "18:00", "19:30")]
            ),
        )
        for n in range(3)
    ]
    booking.clock.set(AFTER_DEADLINE)
    url = f"/api/v1/rounds/{round_id}"
    statuses = _at_once(
        booking, [(f"{url}/allocations", {"wish_id": c["wishes"][0]["id"]}) for c in clubs]
    )
    assert statuses == [201, 409, 409]  # the same Tuesday slot: one club gets it
    listed = booking.client.get(f"{url}/applications", headers=booking.headers()).json()
    undecided = [w["id"] for a in listed for w in a["wishes"] if w["status"] == "wished"]
    for wish_id in undecided:
        booking.client.post(
            f"{url}/wishes/{wish_id}/decline", json={"reason": "Taken"}, headers=booking.headers()
        )
    assert _at_once(booking, [(f"{url}/publish", None)] * 3) == [200, 200, 200]
    assert _count(booking, Series) == 1
    booking.ctx.worker.run_pending()
    outbox: Path = booking.ctx.settings.outbox_dir / "booking"
    assert len(list(outbox.glob("app_*_result-email.txt"))) == 3


def test_erase_customer__blanks_the_contact_of_their_applications__the_organisation_stays(
    booking: Booking,
) -> None:
    made = book(booking)  # Kari becomes a customer
    round_id = open_round(booking, booking.headers())["id"]
    body = application_body(
        "Kari IL", ORG_NUMBERS[0], [wish(booking.resource_id, 3, "18:00", "19:30")]
    )
    body["organisation"]["email"] = KARI["email"].upper()  # the same address, written otherwise
    by_email = apply(booking, round_id, body)
    other = apply(
        booking,
        round_id,
        application_body(
            "Annen IL", ORG_NUMBERS[1], [wish(booking.resource_id, 2, "18:00", "19:30")]
        ),
    )
    cancelled = booking.client.post(
        f"/api/v1/reservations/{made['id']}/cancel", headers=booking.headers()
    )
    assert cancelled.status_code == 200, cancelled.text
    customer_id = booking.client.get(
        f"/api/v1/reservations/{made['id']}", headers=booking.headers()
    ).json()["customer"]["id"]

    erased = booking.client.post(
        f"/api/v1/customers/{customer_id}/erase", headers=booking.headers()
    )

    assert erased.status_code == 200, erased.text
    with booking.ctx.database.read() as session:
        mine = session.get(RoundApplication, by_email["id"])
        theirs = session.get(RoundApplication, other["id"])
        assert mine is not None and theirs is not None
        assert (mine.email, mine.phone, mine.organisation) == ("", "", "Kari IL")
        assert theirs.email == "post@annenil.example.no" and theirs.phone
