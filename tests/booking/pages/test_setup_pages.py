"""The admin's set-up pages through the real HTTP app: venues and resources with their rules,
prices and price groups, staff — roles, tenants, CSRF, errors next to their fields, nb/en."""

from __future__ import annotations

import re
from typing import Any

import pytest

from hallkey.booking import price_groups, staff, venue_setup
from tests.booking.conftest import Booking
from tests.booking.pages.staff_pages_world import Staffed, staffed

RULES_FORM = {
    "name": "Main hall",
    "active": "on",
    "opening_hours.mon": "08:00-16:00, 18:00-22:00",
    "opening_hours.tue": "08:00-22:00",
    "opening_hours.wed": "",
    "opening_hours.thu": "",
    "opening_hours.fri": "08.00-12.00",
    "opening_hours.sat": "",
    "opening_hours.sun": "",
    "closed_periods": "2026-12-24 2026-12-26 Jul\n2027-01-01",
    "slot_minutes": "30",
    "min_booking_minutes": "60",
    "max_booking_minutes": "240",
    "horizon_days": "90",
    "lead_minutes": "120",
    "buffer_minutes": "15",
    "max_open_bookings": "",
    "free_cancellation_hours": "48",
    "approval_required": "on",
    "credential": "url_key",
    "access_operation": "code",
    "access_before_minutes": "10",
    "access_after_minutes": "5",
    "door_ids": "dor_a, dor_b",
}


@pytest.fixture
def world(booking: Booking) -> Staffed:
    return staffed(booking)


def _rules(world: Staffed, resource_id: str) -> dict[str, Any]:
    with world.booking.ctx.database.read() as session:
        for venue in venue_setup.list_venues(session, world.booking.tenant_id):
            for resource in venue.resources:
                if resource.id == resource_id:
                    return resource.model_dump(by_alias=True, mode="json")
    raise AssertionError("no such resource")


def _field_error(html: str, field_id: str) -> str:
    """Returns the error shown next to a field (the input names it by aria-describedby)."""
    tag = re.search(rf'<(?:input|select|textarea)[^>]*id="{re.escape(field_id)}"[^>]*>', html)
    assert tag is not None, field_id
    assert 'aria-invalid="true"' in tag.group(0)
    error = re.search(rf'<p class="error" id="{re.escape(field_id)}-error">([^<]*)</p>', html)
    assert error is not None, field_id
    return error.group(1)


def test_setup_pages__only_an_admin__reaches_them(world: Staffed) -> None:
    anonymous = world.booking.client
    anonymous.cookies.clear()
    first = anonymous.get("/admin/resources?tenant=testby", follow_redirects=False)
    assert first.status_code == 303
    assert first.headers["location"].startswith("/login?next=/admin/resources")
    for username in ("officer", "caretaker-a"):
        user = world.user(username)
        for path in ("/admin/resources", "/admin/prices", "/admin/staff"):
            assert user.client.get(path).status_code == 403, (username, path)
        path = f"/admin/resources/{world.booking.resource_id}"
        assert user.client.get(path).status_code == 403
        refused = user.post(path, RULES_FORM)
        assert refused.status_code == 403
    assert _rules(world, world.booking.resource_id)["slot_minutes"] is None


def test_setup_pages__another_tenants_admin__finds_nothing_of_ours(world: Staffed) -> None:
    other = world.user("admin", tenant="annenby")
    listing = other.client.get("/admin/resources")
    assert listing.status_code == 200
    assert "Annen hall" in listing.text and "Main hall" not in listing.text
    path = f"/admin/resources/{world.booking.resource_id}"
    assert other.client.get(path).status_code == 404
    assert other.post(path, RULES_FORM).status_code == 404
    assert other.post(f"/admin/prices/{world.booking.resource_id}", {}).status_code == 404
    assert other.client.get(f"/admin/venues/{world.venue_a}").status_code == 404
    assert _rules(world, world.booking.resource_id)["slot_minutes"] is None


def test_resources_page__lists_venues_and_resources__in_norwegian_and_english(
    world: Staffed,
) -> None:
    admin = world.user("admin")
    page = admin.client.get("/admin/resources")
    assert page.status_code == 200
    assert '<html lang="nb">' in page.text
    assert "Lokaler og utleieobjekter" in page.text
    for name in ("Testby hall", "Main hall", "Meeting room", "Stage", "Testby school"):
        assert name in page.text
    english = admin.client.get("/admin/resources?lang=en")
    assert '<html lang="en">' in english.text and "Venues and resources" in english.text


def test_rules_form__saves_every_rule__as_the_api_shows_it(world: Staffed) -> None:
    admin = world.user("admin")
    path = f"/admin/resources/{world.booking.resource_id}"
    saved = admin.post(path, RULES_FORM)
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == f"{path}?saved=1"
    rules = _rules(world, world.booking.resource_id)
    assert rules["opening_hours"] == {
        "mon": [["08:00", "16:00"], ["18:00", "22:00"]],
        "tue": [["08:00", "22:00"]],
        "wed": [],
        "thu": [],
        "fri": [["08:00", "12:00"]],
        "sat": [],
        "sun": [],
    }
    assert rules["closed_periods"] == [
        {"from": "2026-12-24", "to": "2026-12-26", "reason": "Jul"},
        {"from": "2027-01-01", "to": "2027-01-01", "reason": None},
    ]
    assert {
        k: rules[k] for k in ("slot_minutes", "min_booking_minutes", "max_booking_minutes")
    } == {
        "slot_minutes": 30,
        "min_booking_minutes": 60,
        "max_booking_minutes": 240,
    }
    assert rules["horizon_days"] == 90 and rules["lead_minutes"] == 120
    assert rules["buffer_minutes"] == 15 and rules["free_cancellation_hours"] == 48
    assert rules["max_open_bookings"] is None
    assert rules["approval_required"] is True and rules["public_holidays_closed"] is False
    assert rules["credential"] == "url_key"
    assert rules["access_before_minutes"] == 10 and rules["access_after_minutes"] == 5
    # The API reads the same (GET /api/v1/venues with a set-up caller).
    page = admin.client.get(f"{path}?saved=1")
    assert "Lagret." in page.text and 'value="08:00-16:00, 18:00-22:00"' in page.text

    # Cleared: open around the clock, no slot grid.
    cleared = dict(RULES_FORM, clear_opening_hours="on", slot_minutes="")
    assert admin.post(path, cleared).status_code == 303
    rules = _rules(world, world.booking.resource_id)
    assert rules["opening_hours"] is None and rules["slot_minutes"] is None


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"slot_minutes": "7"}, "slot_minutes", "må gå opp i et døgn"),
        ({"buffer_minutes": "ti"}, "buffer_minutes", "Ikke et heltall."),
        ({"min_booking_minutes": "300"}, "min_booking_minutes", "lengste booking"),
        ({"opening_hours.tue": "morgen"}, "opening_hours-tue", "Skriv tider som"),
        ({"closed_periods": "jul"}, "closed_periods", "Skriv én periode"),
        ({"closed_periods": "2026-12-26 2026-12-24"}, "closed_periods", "slutter før"),
        ({"door_ids": ""}, "door_ids", ""),
        ({"name": "  "}, "name", ""),
    ],
)
def test_rules_form__a_bad_value__is_shown_next_to_its_field_and_changes_nothing(
    world: Staffed, change: dict[str, str], field: str, message: str
) -> None:
    admin = world.user("admin")
    path = f"/admin/resources/{world.booking.resource_id}"
    before = _rules(world, world.booking.resource_id)
    refused = admin.post(path, {**RULES_FORM, **change})
    assert refused.status_code == 422, refused.text
    assert message in _field_error(refused.text, field)
    assert "Ingenting ble lagret" in refused.text
    assert 'value="dor_a, dor_b"' in refused.text or field == "door_ids"  # values kept
    assert _rules(world, world.booking.resource_id) == before


def test_forms__without_the_csrf_token__are_refused_and_change_nothing(world: Staffed) -> None:
    admin = world.user("admin")
    path = f"/admin/resources/{world.booking.resource_id}"
    before = _rules(world, world.booking.resource_id)
    forged = admin.post(path, RULES_FORM, csrf=False)
    assert forged.status_code == 403
    assert admin.post(path, {**RULES_FORM, "csrf": "x" * 43}, csrf=False).status_code == 403
    assert admin.post("/admin/venues", {"name": "Forged"}, csrf=False).status_code == 403
    assert (
        admin.post("/admin/staff", {"username": "x", "role": "admin"}, csrf=False).status_code
        == 403
    )
    assert _rules(world, world.booking.resource_id) == before
    with world.booking.ctx.database.read() as session:
        venues = venue_setup.list_venues(session, world.booking.tenant_id)
        assert "Forged" not in [v.name for v in venues]


def test_new_venue_and_resource__are_created__a_bad_time_zone_is_refused(world: Staffed) -> None:
    admin = world.user("admin")
    bad = admin.post("/admin/venues", {"name": "Bydelshus", "address": "", "timezone": "Mars/Base"})
    assert bad.status_code == 422
    assert _field_error(bad.text, "venue-timezone") == "ukjent tidssone (IANA)"
    english = admin.post(
        "/admin/venues?lang=en", {"name": "Bydelshus", "address": "", "timezone": "Mars/Base"}
    )
    assert _field_error(english.text, "venue-timezone") == "timezone is not a known IANA time zone"
    assert 'value="Bydelshus"' in bad.text
    made = admin.post(
        "/admin/venues", {"name": "Bydelshus", "address": "Torget 2", "timezone": "Europe/Oslo"}
    )
    assert made.status_code == 303
    with world.booking.ctx.database.read() as session:
        venue = next(
            v
            for v in venue_setup.list_venues(session, world.booking.tenant_id)
            if v.name == "Bydelshus"
        )
    assert venue.address == "Torget 2"
    refused = admin.post(
        "/admin/resources", {"venue_id": venue.id, "name": "Sal", "door_ids": "bad door!"}
    )
    assert refused.status_code == 422 and _field_error(refused.text, "door_ids")
    created = admin.post(
        "/admin/resources",
        {"venue_id": venue.id, "name": "Sal", "door_ids": "dor_q", "credential": "pin"},
    )
    assert created.status_code == 303
    resource_id = created.headers["location"].rsplit("/", 1)[1]
    assert _rules(world, resource_id)["door_ids"] == ["dor_q"]
    renamed = admin.post(
        f"/admin/venues/{venue.id}",
        {"name": "Bydelshuset", "address": "Torget 2", "timezone": "Europe/Oslo"},
    )
    assert renamed.status_code == 303


def test_prices_page__groups_are_added_and_renamed__prices_set_per_group(world: Staffed) -> None:
    admin = world.user("admin")
    assert (
        admin.post("/admin/price-groups", {"key": "Ungdom!", "name": "Ungdom"}).status_code == 422
    )
    added = admin.post("/admin/price-groups", {"key": "youth", "name": "Ungdom"})
    assert added.status_code == 303
    assert admin.post("/admin/price-groups", {"key": "youth", "name": "Igjen"}).status_code == 409
    renamed = admin.post(
        "/admin/price-groups/youth", {"name": "Barn og unge", "requires_approval": "on"}
    )
    assert renamed.status_code == 303
    with world.booking.ctx.database.read() as session:
        groups = price_groups.list_groups(session, world.booking.tenant_id)
    assert [(g.key, g.name, g.requires_approval) for g in groups] == [
        ("youth", "Barn og unge", True)
    ]
    page = admin.client.get("/admin/prices")
    assert "Barn og unge" in page.text

    path = f"/admin/prices/{world.booking.resource_id}"
    form = {
        "price.youth.amount": "99,50",
        "price.youth.unit": "hour",
        "price.youth.vat_rate": "25",
        "price.private.amount": "",
        "price.private.unit": "fixed",
        "price.private.vat_rate": "0",
    }
    assert admin.post(path, form).status_code == 303
    prices = _rules(world, world.booking.resource_id)["prices"]
    assert prices == [{"group": "youth", "unit": "hour", "amount_ore": 9950, "vat_rate": "25"}]

    bad = admin.post(path, {**form, "price.youth.vat_rate": "tjuefem"})
    assert bad.status_code == 422
    assert "price.youth.vat_rate" in bad.text and 'value="tjuefem"' in bad.text
    not_money = admin.post(path, {**form, "price.youth.amount": "mye"})
    assert not_money.status_code == 422 and "Skriv et beløp i kroner" in not_money.text
    assert _rules(world, world.booking.resource_id)["prices"] == prices


def test_staff_page__a_new_caretaker_gets_a_password_once__role_reset_and_disable(
    world: Staffed,
) -> None:
    admin = world.user("admin")
    no_venue = admin.post("/admin/staff", {"username": "vakt", "role": "caretaker"})
    assert no_venue.status_code == 422
    assert "venue_ids-error" in no_venue.text
    made = admin.post(
        "/admin/staff", {"username": "vakt", "role": "caretaker", f"venue.{world.venue_b}": "on"}
    )
    assert made.status_code == 200, made.text
    assert made.headers["cache-control"] == "no-store"
    password = re.search(r"<code class=\"secret\" data-password>([^<]+)</code>", made.text)
    assert password is not None
    with world.booking.ctx.database.read() as session:
        member = next(
            m for m in staff.list_staff(session, world.booking.tenant_id) if m.username == "vakt"
        )
    assert member.role == "caretaker" and member.venue_ids == [world.venue_b]
    # The password works, and is never shown again.
    assert browser_with(world, "vakt", password.group(1))
    again = admin.client.get(f"/admin/staff/{member.id}")
    assert password.group(1) not in again.text

    # A case officer sees every venue: ticked venues are not kept.
    changed = admin.post(
        f"/admin/staff/{member.id}", {"role": "case_officer", f"venue.{world.venue_b}": "on"}
    )
    assert changed.status_code == 200
    with world.booking.ctx.database.read() as session:
        changed_member = staff.staff_out(
            staff.get_staff(session, world.booking.tenant_id, member.id)
        )
    assert changed_member.role == "case_officer" and changed_member.venue_ids == []

    reset = admin.post(f"/admin/staff/{member.id}/password", {})
    new_password = re.search(r"data-password>([^<]+)<", reset.text)
    assert reset.status_code == 200 and new_password is not None
    assert new_password.group(1) != password.group(1)
    assert not browser_with(world, "vakt", password.group(1))
    assert browser_with(world, "vakt", new_password.group(1))

    disabled = admin.post(f"/admin/staff/{member.id}", {"disabled": "true"})
    assert disabled.status_code == 200 and "deaktivert" in disabled.text
    assert not browser_with(world, "vakt", new_password.group(1))
    listing = admin.client.get("/admin/staff?lang=en")
    assert 'data-staff="vakt"' in listing.text and "disabled" in listing.text


def browser_with(world: Staffed, username: str, password: str) -> bool:
    """Tells whether the staff member can sign in with this password."""
    client = world.booking.client
    client.cookies.clear()
    page = client.get("/login?tenant=testby")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    signed = client.post(
        "/login/staff?tenant=testby",
        data={"csrf": csrf.group(1), "username": username, "password": password},
        follow_redirects=False,
    )
    client.cookies.clear()
    return bool(signed.status_code == 303)
