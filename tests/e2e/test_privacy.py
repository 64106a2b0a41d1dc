"""Privacy, tested: no person reaches the door, and no name reaches the hub."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import MetaData, select

from hallkey.core.db import Database
from tests.conftest import DatabaseUrlFactory
from tests.e2e.harness import Deployment, deployment
from tests.e2e.test_story import book, keypad, reservation
from tests.servers import wait_for

NOW = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)
PLANTED = {
    "name": "Zebulon Quixwhistle",
    "phone": "+47 413 57 986",
    "email": "zq.planted@example.net",
}
NEEDLES_FOR_DOOR = ["Zebulon", "Quixwhistle", "4741357986", "41357986", "zq.planted"]


def database_text(database: Database) -> str:
    """Returns every row of every table of a database as one text, for scanning."""
    metadata = MetaData()
    metadata.reflect(database.engine)
    chunks: list[str] = []
    with database.engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(select(table)):
                chunks.append(repr(tuple(row)))
    return "\n".join(chunks)


@pytest.fixture
def story(database_url: DatabaseUrlFactory, tmp_path: Path) -> Iterator[Deployment]:
    with deployment("combined", database_url, tmp_path / "var", NOW) as deployed:
        created = book(deployed, NOW + timedelta(minutes=5), NOW + timedelta(hours=1), PLANTED)
        wait_for(lambda: reservation(deployed, created["id"])["access"]["state"] == "granted")
        typed = reservation(deployed, created["id"])["access"]["code_formatted"]
        door = deployed.demo["resources"][0]["doors"][0]
        wait_for(lambda: keypad(deployed, door, typed)["granted"] is True)
        wait_for(lambda: len(reservation(deployed, created["id"])["events"]) > 0)
        with deployed.booking() as api:
            api.post(f"/api/v1/reservations/{created['id']}/cancel")
        wait_for(lambda: keypad(deployed, door, typed).get("reason") == "revoked")
        yield deployed


def test_locks_database_holds_no_name_phone_or_email(story: Deployment) -> None:
    assert story.contexts.locks is not None
    text = database_text(story.contexts.locks.database)
    assert "rsv_" in text  # the scan does see the rows
    for needle in NEEDLES_FOR_DOOR:
        assert needle not in text


def test_hub_database_holds_no_name(story: Deployment) -> None:
    assert story.contexts.hub is not None
    text = database_text(story.contexts.hub.database)
    assert "rsv_" in text
    assert "Zebulon" not in text and "Quixwhistle" not in text


def test_booking_keeps_the_person(story: Deployment) -> None:
    assert story.contexts.booking is not None
    assert "Quixwhistle" in database_text(story.contexts.booking.database)


def test_logs_hold_no_person_code_or_key(
    database_url: DatabaseUrlFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    with deployment("split", database_url, tmp_path / "var", NOW) as d:
        d.stop("hub")  # failures are where logs say most
        created = book(d, NOW + timedelta(minutes=5), NOW + timedelta(hours=1), PLANTED)
        d.start("hub")
        d.clock.advance(timedelta(minutes=10))
        for worker in d.contexts.workers():
            worker.queue.wakeup.set()
        wait_for(lambda: reservation(d, created["id"])["access"]["state"] == "granted")
        code = reservation(d, created["id"])["access"]["code"]
        keys = [d.demo["booking_api_token"], d.demo["hub_api_key"], d.demo["locks_api_key"]]
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "sync_access" in logged or logged  # the workers did log
    for secret in [*NEEDLES_FOR_DOOR, *keys]:
        assert secret not in logged
    # A code is six digits: look for it as a whole token, not inside a random id.
    assert not re.search(rf"(?<![0-9A-Za-z]){code}(?![0-9A-Za-z])", logged)
