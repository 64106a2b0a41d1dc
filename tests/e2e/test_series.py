"""A club's season over real servers: booking → hub → door controller, one code for all."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import DatabaseUrlFactory
from tests.e2e.harness import Deployment, deployment
from tests.e2e.test_story import CUSTOMER, at
from tests.servers import wait_for

pytestmark = pytest.mark.slow

NOW = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)  # a Wednesday, 18:00 in Oslo


@pytest.fixture
def split(database_url: DatabaseUrlFactory, tmp_path: Path) -> Iterator[Deployment]:
    with deployment("split", database_url, tmp_path / "var", NOW) as deployed:
        yield deployed


def test_series__thursdays_over_three_processes__one_code_opens_only_on_thursdays(
    split: Deployment,
) -> None:
    d = split
    door = d.demo["resources"][0]["doors"][0]
    with d.booking() as api:
        made = api.post(
            "/api/v1/series",
            json={
                "resource_id": d.demo["resources"][0]["id"],
                "weekdays": [4],
                "start_time": "18:00",
                "end_time": "20:00",
                "from_date": "2026-11-26",
                "to_date": "2027-01-28",
                "customer": CUSTOMER,
                "on_conflict": "fail",
            },
        )
        assert made.status_code == 201, made.text
        series = made.json()
        assert len(series["occurrences"]) == 10
        wait_for(lambda: d.door_states(series["ref"]) == {"programmed"}, timeout=20)
        code = api.get(f"/api/v1/series/{series['id']}").json()["access"]["code_formatted"]

    # 18:10 in Oslo on the first and the last Thursday; never on the Friday between.
    first = at(d, datetime(2026, 11, 26, 17, 10, tzinfo=UTC), door, code)
    assert first == {"granted": True, "ref": series["ref"]}
    friday = at(d, datetime(2026, 11, 27, 17, 10, tzinfo=UTC), door, code)
    assert friday["granted"] is False and friday["reason"] == "outside_window"
    assert at(d, datetime(2027, 1, 28, 17, 10, tzinfo=UTC), door, code)["granted"] is True

    d.clock.set(NOW + timedelta(minutes=1))
    with d.booking() as api:
        cancelled = api.post(f"/api/v1/series/{series['id']}/cancel")
        assert cancelled.status_code == 200, cancelled.text
    wait_for(lambda: d.door_states(series["ref"]) == {"revoked"}, timeout=20)
    gone = at(d, datetime(2026, 12, 3, 17, 10, tzinfo=UTC), door, code)
    assert gone["granted"] is False and gone["reason"] == "revoked"
