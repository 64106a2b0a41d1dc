"""Prices through the API: set up on a resource, quoted before booking, stored on a booking
and recomputed when it moves."""

from __future__ import annotations

from typing import Any

import pytest

from hallkey.booking import issue_api_token
from hallkey.booking.models import ResourcePrice
from tests.booking.conftest import Booking, reservation_body

PRICES = [
    {"group": "private", "unit": "hour", "amount_ore": 40_000, "vat_rate": "25"},
    {"group": "organisation", "unit": "fixed", "amount_ore": 100_000, "vat_rate": "0"},
    {"group": "youth", "unit": "hour", "amount_ore": 0, "vat_rate": "0"},
]
START, END = "2026-05-04T08:00:00Z", "2026-05-04T09:30:00Z"  # 90 minutes
PRIVATE_90_MINUTES = {
    "group": "private",
    "unit": "hour",
    "net_ore": 60_000,
    "vat_ore": 15_000,
    "gross_ore": 75_000,
    "currency": "NOK",
    "vat_rate": "25",
}


def _setup(booking: Booking) -> dict[str, str]:
    with booking.ctx.database.transaction() as session:
        token = issue_api_token(
            booking.ctx, session, tenant_id=booking.tenant_id, name="s", scopes=["setup"]
        )
    return {"Authorization": f"Bearer {token}"}


def _set_prices(booking: Booking, prices: list[dict[str, Any]], resource_id: str = "") -> Any:
    answer = booking.client.patch(
        f"/api/v1/resources/{resource_id or booking.resource_id}",
        json={"prices": prices},
        headers=_setup(booking),
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def _quote(booking: Booking, **params: str) -> Any:
    query = {"start": START, "end": END, "tenant": "testby", **params}
    return booking.client.get(f"/api/v1/resources/{booking.resource_id}/price", params=query)


def test_prices__set_up_in_the_resource_body__shown_by_group(booking: Booking) -> None:
    resource = _set_prices(booking, PRICES)
    assert [p["group"] for p in resource["prices"]] == ["organisation", "private", "youth"]
    assert resource["prices"][1] == PRICES[0]
    # A PATCH without prices keeps them; a list replaces them; [] removes them.
    kept = booking.client.patch(
        f"/api/v1/resources/{booking.resource_id}",
        json={"name": "Main hall"},
        headers=_setup(booking),
    ).json()
    assert len(kept["prices"]) == 3
    replaced = _set_prices(booking, [{**PRICES[0], "amount_ore": 45_000, "vat_rate": "12.5"}])
    assert replaced["prices"] == [
        {"group": "private", "unit": "hour", "amount_ore": 45_000, "vat_rate": "12.5"}
    ]
    assert _set_prices(booking, [])["prices"] == []
    assert booking.count(ResourcePrice) == 0


def test_prices__new_resource__with_prices(booking: Booking) -> None:
    headers = _setup(booking)
    venue = booking.client.get("/api/v1/venues", headers=headers).json()[0]
    made = booking.client.post(
        "/api/v1/resources",
        json={"venue_id": venue["id"], "name": "Gym", "door_ids": ["g-1"], "prices": PRICES[:1]},
        headers=headers,
    )
    assert made.status_code == 201, made.text
    assert made.json()["prices"] == PRICES[:1]


@pytest.mark.parametrize(
    ("price", "field"),
    [
        ({**PRICES[0], "amount_ore": 12.5}, "amount_ore"),
        ({**PRICES[0], "amount_ore": -1}, "amount_ore"),
        ({**PRICES[0], "vat_rate": 25}, "vat_rate"),
        ({**PRICES[0], "vat_rate": "250"}, "vat_rate"),
        ({**PRICES[0], "unit": "day"}, "unit"),
        ({**PRICES[0], "group": "Private Persons"}, "group"),
    ],
)
def test_prices__bad_price__422_naming_the_field_and_nothing_changes(
    booking: Booking, price: dict[str, Any], field: str
) -> None:
    _set_prices(booking, PRICES[1:2])
    answer = booking.client.patch(
        f"/api/v1/resources/{booking.resource_id}",
        json={"prices": [price], "name": "Renamed"},
        headers=_setup(booking),
    )
    assert answer.status_code == 422, answer.text
    assert field in answer.json()["error"]["field"]
    assert booking.count(ResourcePrice) == 1


def test_prices__group_named_twice__refused(booking: Booking) -> None:
    answer = booking.client.patch(
        f"/api/v1/resources/{booking.resource_id}",
        json={"prices": [PRICES[0], PRICES[0]]},
        headers=_setup(booking),
    )
    assert answer.status_code == 422
    assert answer.json()["error"]["field"] == "prices"


def test_price__hourly_group__net_vat_gross_in_ore(booking: Booking) -> None:
    _set_prices(booking, PRICES)
    answer = _quote(booking, group="private")
    assert answer.status_code == 200, answer.text
    assert answer.json() == PRIVATE_90_MINUTES
    # No group: the default group (private).
    assert _quote(booking).json()["gross_ore"] == 75_000
    fixed = _quote(booking, group="organisation").json()
    assert (fixed["unit"], fixed["gross_ore"]) == ("fixed", 100_000)
    assert _quote(booking, group="youth").json()["gross_ore"] == 0


def test_price__public_by_host_name__needs_no_token(booking: Booking) -> None:
    _set_prices(booking, PRICES)
    answer = booking.client.get(
        f"/api/v1/resources/{booking.resource_id}/price",
        params={"start": START, "end": END},
        headers={"Host": "booking.testby.example"},
    )
    assert answer.status_code == 200
    assert answer.json()["net_ore"] == 60_000


def test_price__no_price_in_group__404(booking: Booking) -> None:
    _set_prices(booking, PRICES[:1])
    answer = _quote(booking, group="business")
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "no_price"
    assert answer.json()["error"]["field"] == "group"


def test_price__other_tenants_resource__404(booking: Booking) -> None:
    _set_prices(booking, PRICES)
    answer = booking.client.get(
        f"/api/v1/resources/{booking.resource_id}/price",
        params={"start": START, "end": END, "tenant": "annenby"},
    )
    assert answer.status_code == 404


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"end": "2026-05-04T08:00:00Z"}, "end"),
        ({"end": "2026-05-06T09:00:00Z"}, "end"),  # longer than the longest booking
        ({"start": "tomorrow"}, "start"),
        ({"end": "2026-05-04T09:30:00"}, "end"),  # no offset
        ({"group": "NOT A GROUP"}, "group"),
    ],
)
def test_price__bad_frame__422_naming_the_field(
    booking: Booking, params: dict[str, str], field: str
) -> None:
    _set_prices(booking, PRICES)
    answer = _quote(booking, **params)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["field"] == field


def test_reservation__price_stored_for_its_group__and_shown(booking: Booking) -> None:
    _set_prices(booking, PRICES)
    made = booking.client.post(
        "/api/v1/reservations",
        json=reservation_body(booking.resource_id, START, END),
        headers=booking.headers(),
    )
    assert made.status_code == 201, made.text
    assert made.json()["price"] == PRIVATE_90_MINUTES
    # Prices changed later do not change a booking already made.
    _set_prices(booking, [{**PRICES[0], "amount_ore": 99_900}])
    shown = booking.client.get(
        f"/api/v1/reservations/{made.json()['id']}", headers=booking.headers()
    ).json()
    assert shown["price"]["gross_ore"] == 75_000


def test_reservation__other_group__its_price(booking: Booking) -> None:
    _set_prices(booking, PRICES)
    body = reservation_body(booking.resource_id, START, END, price_group="organisation")
    made = booking.client.post("/api/v1/reservations", json=body, headers=booking.headers())
    assert made.status_code == 201, made.text
    assert made.json()["price"]["gross_ore"] == 100_000


def test_reservation__group_without_price__422_and_nothing_stored(booking: Booking) -> None:
    _set_prices(booking, PRICES[:1])
    body = reservation_body(booking.resource_id, START, END, price_group="business")
    made = booking.client.post("/api/v1/reservations", json=body, headers=booking.headers())
    assert made.status_code == 422
    assert made.json()["error"]["field"] == "price_group"
    free = booking.client.get(
        f"/api/v1/resources/{booking.resource_id}/availability",
        params={"from": START, "to": END, "tenant": "testby"},
    ).json()
    assert free["busy"] == []


def test_reservation__resource_without_prices__no_price(booking: Booking) -> None:
    made = booking.client.post(
        "/api/v1/reservations",
        json=reservation_body(booking.resource_id, START, END),
        headers=booking.headers(),
    )
    assert made.status_code == 201
    assert made.json()["price"] is None


def test_reservation__moved__price_recomputed(booking: Booking) -> None:
    _set_prices(booking, PRICES)
    made = booking.client.post(
        "/api/v1/reservations",
        json=reservation_body(booking.resource_id, START, END),
        headers=booking.headers(),
    ).json()
    moved = booking.client.patch(
        f"/api/v1/reservations/{made['id']}",
        json={"end": "2026-05-04T10:15:00Z"},  # 135 minutes
        headers=booking.headers(),
    )
    assert moved.status_code == 200, moved.text
    price = moved.json()["price"]
    assert (price["net_ore"], price["vat_ore"], price["gross_ore"]) == (90_000, 22_500, 112_500)


def test_resources__public_list__shows_the_prices(booking: Booking) -> None:
    _set_prices(booking, PRICES[:2])
    listed = booking.client.get("/api/v1/resources", params={"tenant": "testby"}).json()
    by_name = {r["name"]: r["prices"] for r in listed}
    assert by_name["Main hall"] == [PRICES[1], PRICES[0]]  # by group
    assert by_name["Meeting room"] == []


def test_reservation__moved_after_its_groups_price_was_removed__keeps_its_price(
    booking: Booking,
) -> None:
    _set_prices(booking, PRICES)
    body = reservation_body(booking.resource_id, START, END, price_group="organisation")
    made = booking.client.post("/api/v1/reservations", json=body, headers=booking.headers())
    _set_prices(booking, PRICES[:1])
    moved = booking.client.patch(
        f"/api/v1/reservations/{made.json()['id']}",
        json={"end": "2026-05-04T10:00:00Z"},
        headers=booking.headers(),
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["price"] == made.json()["price"]


def test_reservation__customer_in_a_price_group__pays_that_groups_price(booking: Booking) -> None:
    _set_prices(booking, PRICES)
    group = booking.client.post(
        "/api/v1/price-groups", json={"key": "youth", "name": "Ungdom"}, headers=_setup(booking)
    )
    assert group.status_code == 201, group.text
    young = {"name": "Unge Ola", "phone": "412 34 568", "email": "ung@example.no"}
    made = booking.client.post(
        "/api/v1/customers",
        json={"kind": "person", **young, "price_group": "youth"},
        headers=booking.headers(),
    )
    assert made.status_code == 201, made.text

    booked = booking.client.post(
        "/api/v1/reservations",
        json=reservation_body(booking.resource_id, START, END, customer=young),
        headers=booking.headers(),
    )

    assert booked.status_code == 201, booked.text
    assert (booked.json()["price"]["group"], booked.json()["price"]["gross_ore"]) == ("youth", 0)
    # Staff may still name another group for one booking.
    other = booking.client.post(
        "/api/v1/reservations",
        json=reservation_body(
            booking.resource_id, "2026-05-05T08:00:00Z", "2026-05-05T09:30:00Z",
            customer=young, price_group="private",
        ),
        headers=booking.headers(),
    )  # fmt: skip
    assert other.status_code == 201, other.text
    assert other.json()["price"] == PRIVATE_90_MINUTES


def test_reservation__customer_in_a_group_without_a_price_here__pays_the_default(
    booking: Booking,
) -> None:
    _set_prices(booking, PRICES)
    group = booking.client.post(
        "/api/v1/price-groups", json={"key": "club", "name": "Lag"}, headers=_setup(booking)
    )
    assert group.status_code == 201, group.text
    club = {"name": "Fjellby IL", "phone": "412 34 569", "email": "post@il.example"}
    made = booking.client.post(
        "/api/v1/customers",
        json={"kind": "person", **club, "price_group": "club"},
        headers=booking.headers(),
    )
    assert made.status_code == 201, made.text

    booked = booking.client.post(
        "/api/v1/reservations",
        json=reservation_body(booking.resource_id, START, END, customer=club),
        headers=booking.headers(),
    )

    assert booked.status_code == 201, booked.text
    assert booked.json()["price"] == PRIVATE_90_MINUTES
