"""The gate that keeps a send-driven outbox purge to once per interval."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hallkey.core.messaging import PurgeGate

T0 = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)


def test_gate__first_call__due() -> None:
    assert PurgeGate(timedelta(hours=1)).due(T0)


def test_gate__within_the_interval__not_due_until_it_passed() -> None:
    gate = PurgeGate(timedelta(hours=1))
    gate.due(T0)
    assert not gate.due(T0 + timedelta(minutes=59))
    assert gate.due(T0 + timedelta(hours=1))
    assert not gate.due(T0 + timedelta(hours=1, minutes=1))


def test_gate__clock_went_back__due_again() -> None:
    gate = PurgeGate(timedelta(hours=1))
    gate.due(T0)
    assert gate.due(T0 - timedelta(minutes=5))
