"""The door controller's pure rules: keypad input, windows, decisions, lock-out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hallkey.locks.domain import (
    CredentialCandidate,
    Decision,
    Window,
    count_recent_failures,
    decide,
    extend_unlock,
    is_locked,
    is_locked_out,
    lockout_until,
    normalise_keypad_code,
    windows_problem,
)

T0 = datetime(2026, 3, 29, 10, 0, tzinfo=UTC)
W = Window(T0, T0 + timedelta(hours=1))


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("482915#", "482915"),
        ("482915", "482915"),
        (" 48 29 15 # ", "482915"),
        ("1234", "1234"),
        ("12345678#", "12345678"),
        ("482915##", None),
        ("#482915", None),
        ("123", None),
        ("123456789", None),
        ("48a915", None),
        ("", None),
        ("#", None),
        ("٤٨٢٩١٥", None),  # non-ASCII digits are not keypad digits
        ("1" * 1000, None),
    ],
)
def test_keypad_input__is_normalised_to_4_to_8_digits(typed: str, expected: str | None) -> None:
    assert normalise_keypad_code(typed) == expected


def test_window__is_half_open() -> None:
    assert W.contains(T0)
    assert W.contains(T0 + timedelta(minutes=59, seconds=59))
    assert not W.contains(T0 + timedelta(hours=1))
    assert not W.contains(T0 - timedelta(microseconds=1))


def test_windows__touching_do_not_overlap_but_sharing_an_instant_do() -> None:
    after = Window(T0 + timedelta(hours=1), T0 + timedelta(hours=2))
    assert not W.overlaps(after)
    assert not after.overlaps(W)
    assert W.overlaps(Window(T0 + timedelta(minutes=59), T0 + timedelta(hours=2)))


def test_windows__empty_reversed_or_too_many__are_a_problem() -> None:
    assert windows_problem([W]) is None
    assert windows_problem([]) is not None
    assert windows_problem([Window(T0, T0)]) is not None
    assert windows_problem([Window(T0, T0 - timedelta(seconds=1))]) is not None
    assert windows_problem([W] * 500) is None
    assert windows_problem([W] * 501) is not None


def test_decision__valid_credential_inside_window__is_granted_with_its_ref() -> None:
    candidates = [
        CredentialCandidate("rsv_old", revoked=True, windows=[W]),
        CredentialCandidate("rsv_now", revoked=False, windows=[W]),
    ]
    assert decide(candidates, T0) == Decision(granted=True, ref="rsv_now")


def test_decision__outside_window__is_refused_with_ref() -> None:
    candidates = [CredentialCandidate("rsv_1", revoked=False, windows=[W])]
    assert decide(candidates, T0 + timedelta(hours=1)) == Decision(
        granted=False, ref="rsv_1", reason="outside_window"
    )
    assert decide(candidates, T0 - timedelta(seconds=1)).reason == "outside_window"


def test_decision__only_revoked__is_revoked() -> None:
    candidates = [CredentialCandidate("rsv_1", revoked=True, windows=[W])]
    assert decide(candidates, T0) == Decision(granted=False, ref="rsv_1", reason="revoked")


def test_decision__no_match__is_unknown_code() -> None:
    assert decide([], T0) == Decision(granted=False, reason="unknown_code")


def test_decision__revoked_and_outside_window__prefers_outside_window() -> None:
    candidates = [
        CredentialCandidate("rsv_a", revoked=True, windows=[W]),
        CredentialCandidate("rsv_b", revoked=False, windows=[]),
    ]
    assert decide(candidates, T0).reason == "outside_window"


def test_lockout__five_wrong_codes_within_five_minutes__lock_for_five_minutes() -> None:
    fails = [T0 + timedelta(minutes=i) for i in range(5)]
    now = fails[-1]
    assert count_recent_failures(fails, now, None) == 5
    assert lockout_until(5, now) == now + timedelta(minutes=5)
    assert lockout_until(4, now) is None


def test_lockout__failures_older_than_five_minutes__do_not_count() -> None:
    fails = [T0, T0 + timedelta(minutes=1), T0 + timedelta(minutes=5)]
    assert count_recent_failures(fails, T0 + timedelta(minutes=5), None) == 2


def test_lockout__failures_before_the_previous_lockout_ended__do_not_count() -> None:
    ended = T0 + timedelta(minutes=2)
    fails = [T0, T0 + timedelta(minutes=1), ended, ended + timedelta(seconds=1)]
    assert count_recent_failures(fails, ended + timedelta(seconds=1), ended) == 2


def test_lockout__is_half_open() -> None:
    until = T0 + timedelta(minutes=5)
    assert is_locked_out(until, T0)
    assert not is_locked_out(until, until)
    assert not is_locked_out(None, T0)


def test_door__locked_unless_unlocked_until_later() -> None:
    assert is_locked(None, T0)
    assert is_locked(T0, T0)
    assert not is_locked(T0 + timedelta(seconds=1), T0)


def test_unlock__is_never_shortened() -> None:
    assert extend_unlock(None, T0, 5) == T0 + timedelta(seconds=5)
    later = T0 + timedelta(seconds=30)
    assert extend_unlock(later, T0, 5) == later
    assert extend_unlock(T0, T0, 5) == T0 + timedelta(seconds=5)
