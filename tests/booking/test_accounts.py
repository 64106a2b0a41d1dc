"""The accounts export through HTTP: a season summed to the øre, JSON and CSV alike, charged
cancellations in, free ones and requests out, CSV safe from formulas, tenants apart."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from typing import Any

import pytest

from hallkey.booking import accounts, issue_api_token
from tests.booking.conftest import Booking, reservation_body
from tests.booking.staff_world import make_world

SEASON = {"from": "2026-05-01T00:00:00Z", "to": "2026-11-01T00:00:00Z"}
PRICES = [
    {"group": "private", "unit": "hour", "amount_ore": 40_000, "vat_rate": "25"},
    {"group": "organisation", "unit": "fixed", "amount_ore": 100_000, "vat_rate": "0"},
]
CLUB = {
    "kind": "organisation",
    "name": "Kari Leder",
    "email": "post@testbyil.no",
    "organisation": "Testby IL",
    "org_number": "974760673",
}
EVIL = {"name": '=HYPERLINK("http://evil.example","x")', "phone": "412 34 569"}


def _token(booking: Booking, tenant_id: str | None = None) -> dict[str, str]:
    with booking.ctx.database.transaction() as session:
        token = issue_api_token(
            booking.ctx,
            session,
            tenant_id=tenant_id or booking.tenant_id,
            name="finance",
            scopes=["accounts", "setup"],
        )
    return {"Authorization": f"Bearer {token}"}


def _book(booking: Booking, start: datetime, minutes: int, **extra: Any) -> Any:
    body = reservation_body(
        booking.resource_id,
        start.isoformat().replace("+00:00", "Z"),
        (start + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z"),
        **extra,
    )
    made = booking.client.post("/api/v1/reservations", json=body, headers=booking.headers())
    assert made.status_code == 201, made.text
    return made.json()


def _season(booking: Booking, finance: dict[str, str]) -> dict[str, Any]:
    """Books a season: ten Tuesday evenings (90 min, private), a club's fixed-price day, one
    booking across the autumn DST change, a charged and a free cancellation, a request."""
    set_up = booking.client.patch(
        f"/api/v1/resources/{booking.resource_id}",
        json={"prices": PRICES, "free_cancellation_hours": 24},
        headers=finance,
    )
    assert set_up.status_code == 200, set_up.text
    club = booking.client.post("/api/v1/customers", json=CLUB, headers=booking.headers())
    assert club.status_code == 201, club.text
    made: dict[str, Any] = {"weekly": []}
    first = datetime.fromisoformat("2026-05-05T16:00:00+00:00")
    for week in range(10):
        made["weekly"].append(_book(booking, first + timedelta(weeks=week), 90))
    made["club"] = _book(
        booking,
        datetime.fromisoformat("2026-06-13T08:00:00+00:00"),
        300,
        customer={"name": CLUB["name"], "phone": "412 34 570", "email": CLUB["email"]},
        price_group="organisation",
    )
    # 01:00-04:00 on 25 October in Oslo: four real hours (the clock goes back at 03:00).
    made["dst"] = _book(booking, datetime.fromisoformat("2026-10-24T23:00:00+00:00"), 240)
    made["evil"] = _book(
        booking,
        datetime.fromisoformat("2026-06-20T10:00:00+00:00"),
        60,
        customer={**EVIL, "email": "evil@example.no"},
    )
    # Cancelled within 24 hours of its start: charged, listed at its price.
    made["charged"] = _book(booking, datetime.fromisoformat("2026-05-04T18:00:00+00:00"), 60)
    # Cancelled in good time: free, left out.
    made["free"] = _book(booking, datetime.fromisoformat("2026-09-01T10:00:00+00:00"), 60)
    for key in ("charged", "free"):
        cancelled = booking.client.post(
            f"/api/v1/reservations/{made[key]['id']}/cancel", headers=booking.headers()
        )
        assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["cancellation_charged"] is False
    # A request not yet decided: left out.
    request = reservation_body(
        booking.approval_resource_id, "2026-07-01T10:00:00Z", "2026-07-01T11:00:00Z"
    )
    assert (
        booking.client.post("/api/v1/reservations", json=request, headers=booking.headers())
    ).status_code == 201
    return made


def test_accounts__a_season__adds_up_to_the_ore_in_json_and_csv(booking: Booking) -> None:
    finance = _token(booking)
    made = _season(booking, finance)
    got = booking.client.get("/api/v1/accounts", params=SEASON, headers=finance)
    assert got.status_code == 200, got.text
    body = got.json()
    rows = body["rows"]
    by_ref = {row["ref"]: row for row in rows}
    expected_refs = {r["ref"] for r in made["weekly"]} | {
        made[k]["ref"] for k in ("club", "dst", "evil", "charged")
    }
    assert set(by_ref) == expected_refs
    assert [row["start"] for row in rows] == sorted(row["start"] for row in rows)
    weekly = by_ref[made["weekly"][0]["ref"]]
    assert (weekly["minutes"], weekly["net_ore"], weekly["vat_ore"], weekly["gross_ore"]) == (
        90,
        60_000,
        15_000,
        75_000,
    )
    assert (weekly["date"], weekly["local_start"], weekly["local_end"]) == (
        "2026-05-05",
        "18:00",
        "19:30",
    )
    assert weekly["customer"] == "Kari Nordmann" and weekly["price_group"] == "private"
    club = by_ref[made["club"]["ref"]]
    assert (club["customer"], club["org_number"], club["price_group"]) == (
        "Testby IL",
        "974760673",
        "organisation",
    )
    assert (club["net_ore"], club["vat_ore"], club["gross_ore"]) == (100_000, 0, 100_000)
    dst = by_ref[made["dst"]["ref"]]
    assert (dst["minutes"], dst["hours"], dst["net_ore"]) == (240, 4.0, 160_000)
    assert (dst["local_start"], dst["local_end"]) == ("01:00", "04:00")
    charged = by_ref[made["charged"]["ref"]]
    assert (charged["status"], charged["gross_ore"]) == ("cancelled", 50_000)

    net = 10 * 60_000 + 100_000 + 160_000 + 40_000 + 40_000
    vat = 10 * 15_000 + 0 + 40_000 + 10_000 + 10_000
    assert body["totals"] == {
        "count": 14,
        "minutes": 10 * 90 + 300 + 240 + 60 + 60,
        "hours": 26.0,
        "net_ore": net,
        "vat_ore": vat,
        "gross_ore": net + vat,
    }
    assert sum(row["gross_ore"] for row in rows) == body["totals"]["gross_ore"]
    assert all(row["net_ore"] + row["vat_ore"] == row["gross_ore"] for row in rows)

    as_csv = booking.client.get(
        "/api/v1/accounts", params={**SEASON, "format": "csv"}, headers=finance
    )
    assert as_csv.status_code == 200, as_csv.text
    assert as_csv.headers["content-type"].startswith("text/csv")
    text = as_csv.content.decode("utf-8")
    assert text.startswith("\ufeff")
    table = list(csv.reader(io.StringIO(text.removeprefix("\ufeff")), delimiter=";"))
    header, lines, total = table[0], table[1:-1], table[-1]
    assert header[:3] == ["ref", "status", "date"]
    assert header[-4:] == ["net", "vat", "gross", "vat_rate"]
    assert [line[0] for line in lines] == [row["ref"] for row in rows]
    column = {name: i for i, name in enumerate(header)}

    def ore(cell: str) -> int:
        kroner, _, cents = cell.partition(",")
        assert len(cents) == 2, cell
        return int(kroner) * 100 + int(cents)

    assert sum(ore(line[column["gross"]]) for line in lines) == net + vat
    assert total[0] == "SUM" and total[1] == "14"
    assert ore(total[column["net"]]) == net and ore(total[column["gross"]]) == net + vat
    assert total[column["hours"]] == "26,00"
    first = lines[[line[0] for line in lines].index(made["weekly"][0]["ref"])]
    assert (first[column["hours"]], first[column["gross"]], first[column["vat_rate"]]) == (
        "1,50",
        "750,00",
        "25,00",
    )
    evil = lines[[line[0] for line in lines].index(made["evil"]["ref"])]
    assert evil[column["customer"]] == "'" + EVIL["name"]
    assert all(not cell.startswith(("=", "+", "-", "@")) for line in lines for cell in line)


def test_accounts__another_tenant__sees_only_its_own(booking: Booking) -> None:
    _season(booking, _token(booking))
    world = make_world(booking)
    other = world.request(
        "GET",
        f"/api/v1/accounts?from={SEASON['from']}&to={SEASON['to']}",
        world.callers["other tenant's admin"],
    )
    assert other.status_code == 200, other.text
    assert other.json()["rows"] == [] and other.json()["totals"]["count"] == 0
    mine = world.request(
        "GET",
        f"/api/v1/accounts?from={SEASON['from']}&to={SEASON['to']}",
        world.callers["case officer session"],
    )
    assert mine.json()["totals"]["count"] == 14
    for name in ("caretaker session (own venue)", "integration token staff"):
        refused = world.request(
            "GET", f"/api/v1/accounts?from={SEASON['from']}&to={SEASON['to']}", world.callers[name]
        )
        assert refused.status_code == 403, (name, refused.text)


def test_accounts__bad_input__4xx_naming_the_field(booking: Booking) -> None:
    finance = _token(booking)
    cases = [
        ({"from": SEASON["to"], "to": SEASON["from"]}, "to"),
        ({"from": "2026-01-01T00:00:00Z", "to": "2027-06-01T00:00:00Z"}, "to"),
        ({**SEASON, "format": "xlsx"}, "format"),
        ({"to": SEASON["to"]}, "from"),
    ]
    for params, field in cases:
        got = booking.client.get("/api/v1/accounts", params=params, headers=finance)
        assert got.status_code == 422, (params, got.text)
        assert got.json()["error"]["field"] == field, got.text


def test_accounts__read_in_small_pages__lists_every_row_once(
    booking: Booking, monkeypatch: pytest.MonkeyPatch
) -> None:
    finance = _token(booking)
    _season(booking, finance)
    whole = booking.client.get("/api/v1/accounts", params=SEASON, headers=finance).json()
    monkeypatch.setattr(accounts, "PAGE", 3)  # 14 rows: five pages, the last one short
    paged = booking.client.get("/api/v1/accounts", params=SEASON, headers=finance).json()
    assert paged == whole
    as_csv = booking.client.get(
        "/api/v1/accounts", params={**SEASON, "format": "csv"}, headers=finance
    )
    lines = as_csv.content.decode("utf-8").splitlines()
    assert [line.split(";")[0] for line in lines[1:-1]] == [row["ref"] for row in whole["rows"]]
