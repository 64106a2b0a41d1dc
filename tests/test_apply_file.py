"""The set-up file is checked whole before anything is applied; each problem says where."""

from __future__ import annotations

from pathlib import Path

import pytest

from hallkey.apply import SetupFileError, load_setup_file, parse_setup

FJELLBY = (Path(__file__).parent / "e2e" / "fjellby.toml").read_text()


def _problems(text: str) -> list[str]:
    with pytest.raises(SetupFileError) as caught:
        parse_setup(text)
    return caught.value.problems


def test_setup_file__fjellby_and_the_demo__are_valid() -> None:
    assert parse_setup(FJELLBY).tenant.slug == "fjellby"
    demo = load_setup_file(Path(__file__).parents[1] / "src" / "hallkey" / "demo.toml")
    first = demo.venues[0].resources[0]
    assert first.opening_hours is None and not first.approval_required
    assert (first.access_before_minutes, first.access_after_minutes) == (15, 15)


def test_setup_file__resource_names_a_door_no_site_has__refused() -> None:
    problems = _problems(FJELLBY.replace('doors = ["fjellhallen-inngang"]', 'doors = ["x"]'))
    assert problems == ["file: Value error, resource 'Fjellhallen, møterom' names doors no site "
                        "has: x"]  # fmt: skip


def test_setup_file__two_resources_of_one_name__refused() -> None:
    text = FJELLBY.replace('name = "Fjellhallen, møterom"', 'name = "Fjellhallen, hall A"')
    assert "two resources are named 'Fjellhallen, hall A'" in _problems(text)[0]


def test_setup_file__controller_site_with_config_or_unknown_key__refused() -> None:
    text = FJELLBY.replace("pin_length = 6", 'pin_length = 6\nconfig = { broker = "x" }')
    assert "takes no config" in _problems(text)[0]
    assert _problems(FJELLBY + "\n[extra]\nx = 1\n") == ["extra: Extra inputs are not permitted"]
    assert _problems("tenant = [")[0].startswith("not valid TOML")


def test_setup_file__rules_out_of_bounds__refused_before_anything_is_sent() -> None:
    edits = {
        "max_booking_minutes = 240": "max_booking_minutes = 10",
        "horizon_days = 180": "horizon_days = 0",
        "access_before_minutes = 10": "access_before_minutes = 2000",
        'thu = [["08:00", "22:00"]]': 'thu = [["22:00", "08:00"]]',
        'fri = [["08:00", "16:00"]]': 'fredag = [["08:00", "16:00"]]',
        'timezone = "Europe/Oslo"\nhostnames': 'timezone = "Europe/Fjellby"\nhostnames',
        "pin_length = 6": "pin_length = 12",
    }
    text = FJELLBY
    for old, new in edits.items():
        assert old in text, old
        text = text.replace(old, new)
    problems = "\n".join(_problems(text))
    for where in (
        "tenant.timezone",
        "sites.0.pin_length",
        "venues.0.resources.0.horizon_days",
        "venues.0.resources.0.access_before_minutes",
        "venues.0.resources.1.opening_hours",
    ):
        assert where in problems, where


def test_setup_file__shortest_booking_longer_than_longest__refused() -> None:
    text = FJELLBY.replace("max_booking_minutes = 240", "max_booking_minutes = 10")
    (problem,) = _problems(text)
    assert problem.startswith("venues.0.resources.0: Value error, min_booking_minutes is longer")


def test_setup_file__prices__normalised_as_the_api_shows_them() -> None:
    prices = parse_setup(FJELLBY).venues[0].resources[0].prices
    assert [(p.group, p.unit, p.amount_ore, p.vat_rate) for p in prices] == [
        ("organisation", "fixed", 120_000, "0"),
        ("private", "hour", 30_000, "25"),
        ("youth", "hour", 0, "0"),
    ]


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ('vat_rate = "25"', "vat_rate = 12.5", "vat_rate"),
        ('vat_rate = "25"', 'vat_rate = "125"', "vat_rate"),
        ("amount_ore = 30000", "amount_ore = -1", "amount_ore"),
        ("amount_ore = 30000", "amount_ore = 300.5", "amount_ore"),
        ('unit = "hour", amount_ore = 30000', 'unit = "day", amount_ore = 30000', "unit"),
        ('group = "youth"', 'group = "private"', "a price group is named twice"),
    ],
)
def test_setup_file__bad_price__refused(old: str, new: str, problem: str) -> None:
    assert old in FJELLBY
    assert problem in "\n".join(_problems(FJELLBY.replace(old, new, 1)))
