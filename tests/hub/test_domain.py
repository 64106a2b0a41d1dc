"""The hub's pure rules, without a database."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

import pytest

from hallkey.hub.delivery.templates import format_time_frame, render
from hallkey.hub.domain import (
    Drift,
    RuleViolation,
    WantedCredential,
    Window,
    WindowLimits,
    door_drift,
    fingerprint,
    format_code,
    generate_pin,
    grant_request_canonical,
    is_trivial_pin,
    make_windows,
    recipient_expired,
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
A = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)
B = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "code",
    ["0000", "1111", "999999", "1234", "123456", "654321", "901234", "3210", "12345678", "121212"],
)
def test_pin__trivial_codes__are_recognised(code: str) -> None:
    assert is_trivial_pin(code)


@pytest.mark.parametrize("code", ["482915", "1029", "55555556", "120934"])
def test_pin__ordinary_codes__are_not_trivial(code: str) -> None:
    assert not is_trivial_pin(code)


@pytest.mark.parametrize("length", [4, 6, 8])
def test_pin__has_the_sites_length_and_is_never_trivial(length: int) -> None:
    rng = random.Random(7)
    for _ in range(200):
        code = generate_pin(length, lambda _: False, rng.randrange)
        assert len(code) == length and code.isdigit()
        assert not is_trivial_pin(code)


def test_pin__length_outside_4_to_8__is_refused() -> None:
    with pytest.raises(ValueError):
        generate_pin(3, lambda _: False)
    with pytest.raises(ValueError):
        generate_pin(9, lambda _: False)


def test_pin__taken_codes__are_skipped() -> None:
    first = generate_pin(6, lambda _: False, random.Random(1).randrange)
    second = generate_pin(6, lambda code: code == first, random.Random(1).randrange)
    assert second != first


def test_pin__chooser_that_only_yields_trivial_or_taken_codes__gives_up() -> None:
    with pytest.raises(RuntimeError):
        generate_pin(4, lambda _: True, random.Random(3).randrange)


def test_fingerprint__stable_under_key_order_and_offset_notation() -> None:
    key = b"k" * 32
    oslo = timezone(timedelta(hours=1))
    one = grant_request_canonical(
        ref="rsv_1", operation="code", credential="pin", doors=["b", "a"],
        windows=[Window(A, B)], phone="+4791234567", email=None, deliver_via=["sms", "email"],
        locale="nb",
    )  # fmt: skip
    two = grant_request_canonical(
        locale="nb", deliver_via=["email", "sms"], email=None, phone="+4791234567",
        windows=[Window(A.astimezone(oslo), B.astimezone(oslo))], doors=["a", "b"],
        credential="pin", operation="code", ref="rsv_1",
    )  # fmt: skip
    assert fingerprint(key, one) == fingerprint(key, two)
    three = dict(one, locale="en")
    assert fingerprint(key, one) != fingerprint(key, three)
    assert fingerprint(key, one) != fingerprint(b"x" * 32, one)


def test_windows__exactly_one_form_and_end_after_start_and_in_future() -> None:
    assert make_windows(valid_from=A, valid_to=B, windows=None, now=NOW) == [Window(A, B)]
    with pytest.raises(RuleViolation) as error:
        make_windows(valid_from=B, valid_to=A, windows=None, now=NOW)
    assert error.value.field == "valid_to"
    with pytest.raises(RuleViolation) as error:
        make_windows(valid_from=A, valid_to=B, windows=[(A, B)], now=NOW)
    assert error.value.field == "windows"
    with pytest.raises(RuleViolation) as error:
        make_windows(valid_from=None, valid_to=None, windows=None, now=NOW)
    with pytest.raises(RuleViolation) as error:
        make_windows(valid_from=A, valid_to=B, windows=None, now=B)
    assert error.value.field == "valid_to"
    # A grant may start in the past.
    assert make_windows(valid_from=NOW - timedelta(days=1), valid_to=B, windows=None, now=NOW)


def test_windows__overlapping_ones_are_merged_and_sorted() -> None:
    later = (A + timedelta(days=7), B + timedelta(days=7))
    merged = make_windows(
        valid_from=None, valid_to=None, windows=[later, (A, B), (A + timedelta(minutes=30), B)],
        now=NOW,
    )  # fmt: skip
    assert merged == [Window(A, B), Window(*later)]


def test_window__is_half_open() -> None:
    window = Window(A, B)
    assert window.contains(A) and not window.contains(B)
    assert not window.overlaps(Window(B, B + timedelta(hours=1)))
    assert window.overlaps(Window(B - timedelta(seconds=1), B + timedelta(hours=1)))


def test_retention__phone_and_email_expire_days_after_the_end_or_revocation() -> None:
    end = B
    day = timedelta(days=1)
    assert not recipient_expired(valid_to=end, revoked_at=None, now=end + 7 * day - day / 24,
                                 retention_days=7)  # fmt: skip
    assert recipient_expired(valid_to=end, revoked_at=None, now=end + 7 * day, retention_days=7)
    far = end + 30 * day
    assert recipient_expired(valid_to=far, revoked_at=NOW, now=NOW + 7 * day, retention_days=7)


def test_code__is_formatted_with_the_enter_key() -> None:
    assert format_code("482915") == "482915#"


def test_time_frame__is_shown_in_the_sites_time_zone_and_language() -> None:
    window = [Window(A, B)]
    assert format_time_frame(window, "Europe/Oslo", "nb") == "1. desember 18:00\u201319:00"
    assert format_time_frame(window, "Europe/Oslo", "en") == "1 December 18:00\u201319:00"
    night = [Window(A, B + timedelta(hours=6))]
    assert format_time_frame(night, "Europe/Oslo", "nb") == (
        "1. desember 18:00 \u2013 2. desember 01:00"
    )


def test_templates__have_the_placeholders_filled_in_both_languages() -> None:
    for template in ("access_granted", "access_reminder", "access_changed", "access_revoked"):
        for locale in ("nb", "en"):
            rendered = render(
                template, locale, doors=["Hovedinngang", "Sideinngang"], place="Kulturhuset",
                windows=[Window(A, B)], timezone="Europe/Oslo", code="482915#",
            )  # fmt: skip
            # The text in GSM-7: a hyphen, not the email's en dash.
            for text, hours in (
                (rendered.sms, "18:00-19:00"),
                (rendered.email, "18:00\u201319:00"),
            ):
                assert "Hovedinngang" in text and "Kulturhuset" in text
                assert hours in text
                assert "{" not in text
                assert ("482915#" in text) == (template != "access_revoked")


def _want(ref: str, action: str = "program", *windows: Window) -> WantedCredential:
    return WantedCredential(ref, action, windows or (Window(A, B),))


def test_door_drift__door_holding_what_the_hub_wants__is_none() -> None:
    held = {"rsv_1": (Window(A, B),)}
    drift = door_drift([_want("rsv_1"), _want("rsv_2", "revoke")], held, {"rsv_1"}, NOW)
    assert drift == Drift(reapply=(), stray=())


def test_door_drift__missing_or_other_windows__are_pushed_again() -> None:
    held = {"rsv_2": (Window(A, B + timedelta(hours=1)),)}
    drift = door_drift([_want("rsv_1"), _want("rsv_2")], held, {"rsv_2"}, NOW)
    assert drift.reapply == ("rsv_1", "rsv_2")


def test_door_drift__revoked_ref_still_honoured__is_revoked_again_unless_it_has_ended() -> None:
    live = {"rsv_1": (Window(A, B),)}
    assert door_drift([_want("rsv_1", "revoke")], live, {"rsv_1"}, NOW).reapply == ("rsv_1",)
    assert door_drift([_want("rsv_1", "revoke")], live, {"rsv_1"}, B).reapply == ()


def test_door_drift__live_ref_the_hub_never_granted_there__is_stray() -> None:
    held = {"rsv_1": (Window(A, B),), "rsv_zz": (Window(A, B),)}
    assert door_drift([_want("rsv_1")], held, {"rsv_1"}, NOW).stray == ("rsv_zz",)


def test_windows__longer_than_the_longest_window__name_the_window() -> None:
    limits = WindowLimits(timedelta(days=31), timedelta(days=400), NOW)
    day = timedelta(days=1)
    ok = [(NOW, NOW + 31 * day), (NOW + 40 * day, NOW + 41 * day)]
    assert len(make_windows(valid_from=None, valid_to=None, windows=ok, now=None, limits=limits))
    too_long = [(NOW, NOW + day), (NOW + 2 * day, NOW + 34 * day)]
    with pytest.raises(RuleViolation) as caught:
        make_windows(valid_from=None, valid_to=None, windows=too_long, now=None, limits=limits)
    assert caught.value.field == "windows.1.valid_to"


def test_windows__reaching_too_far__from_the_start_or_from_now() -> None:
    limits = WindowLimits(timedelta(days=31), timedelta(days=400), NOW)
    day = timedelta(days=1)
    far = [(NOW + 399 * day, NOW + 401 * day), (NOW, NOW + day)]
    with pytest.raises(RuleViolation) as caught:
        make_windows(valid_from=None, valid_to=None, windows=far, now=None, limits=limits)
    assert caught.value.field == "windows.0.valid_to"
    # A grant that began long ago counts from its start.
    began = [(NOW - 400 * day, NOW - 399 * day), (NOW, NOW + day)]
    with pytest.raises(RuleViolation) as caught:
        make_windows(valid_from=None, valid_to=None, windows=began, now=None, limits=limits)
    assert caught.value.field == "windows.1.valid_to"


def test_generate_pin__gives_up_after_the_tries_it_is_given() -> None:
    asked: list[str] = []

    def taken(code: str) -> bool:
        asked.append(code)
        return True

    with pytest.raises(RuntimeError):
        generate_pin(6, taken, random.Random(5).randrange, tries=8)
    assert 1 <= len(asked) <= 8
