"""The sliding-window throttle behind every 429."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hallkey.core.clock import ManualClock
from hallkey.core.errors import TooManyRequests
from hallkey.core.throttle import Rate, Throttle


def test_throttle__over_the_rate__refuses_with_retry_after_until_the_oldest_hit_ages_out() -> None:
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    throttle = Throttle("test", Rate(3, 60), clock)
    for _ in range(3):
        throttle.hit("k")
        clock.advance(timedelta(seconds=10))
    with pytest.raises(TooManyRequests) as refused:
        throttle.hit("k")
    assert refused.value.retry_after == 30
    assert refused.value.headers == {"Retry-After": "30"}
    throttle.hit("other")  # keys are counted apart
    clock.advance(timedelta(seconds=30))
    throttle.hit("k")  # the first hit has aged out
    with pytest.raises(TooManyRequests):
        throttle.hit("k")


def test_throttle__check__does_not_count_a_hit() -> None:
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    throttle = Throttle("test", Rate(1, 60), clock)
    throttle.check("k")
    throttle.check("k")
    throttle.hit("k")
    with pytest.raises(TooManyRequests):
        throttle.check("k")
    throttle.reset("k")
    throttle.check("k")
