"""Privacy, tested: no person reaches the door, and no name reaches the hub."""

from __future__ import annotations

import logging
import re
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, select

from hallkey.booking.models import Reservation
from hallkey.core.db import Database
from hallkey.core.settings import Settings
from hallkey.locks.models import Controller
from tests.conftest import DatabaseUrlFactory
from tests.e2e.harness import Deployment, deployment
from tests.e2e.test_failures import catch_up
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
        wait_for(lambda: deployed.door_states(created["ref"]) == {"programmed"}, timeout=15)
        assert keypad(deployed, door, typed)["granted"] is True
        wait_for(lambda: len(reservation(deployed, created["id"])["events"]) > 0)
        with deployed.booking() as api:
            api.post(f"/api/v1/reservations/{created['id']}/cancel")
        wait_for(lambda: keypad(deployed, door, typed).get("reason") == "revoked", interval=0.5)
        yield deployed


def reservation_of(d: Deployment, email: str) -> Any:
    """Returns the story's reservation (the only one made with `email`)."""
    assert d.contexts.booking is not None
    with d.contexts.booking.database.transaction() as session:
        found = session.scalars(
            select(Reservation.id).where(Reservation.contact_email == email)
        ).one()
    return reservation(d, found)


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


def _whole_token(value: str) -> re.Pattern[str]:
    """Matches `value` standing alone, not inside a longer id or number."""
    return re.compile(rf"(?<![0-9A-Za-z]){re.escape(value)}(?![0-9A-Za-z])")


def _events_key(d: Deployment) -> str:
    """Returns the site's events key, as the controller holds it (sealed)."""
    assert d.contexts.locks is not None
    locks = d.contexts.locks
    with locks.database.transaction() as session:
        sealed = session.scalars(select(Controller.hub_events_token_sealed)).one()
    assert sealed is not None
    return locks.box.open(sealed)


def test_logs__whole_story_with_an_outage_and_an_erasure__hold_no_person_code_or_key(
    database_url: DatabaseUrlFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every level of every logger, the libraries' included
    with deployment("split", database_url, tmp_path / "var", NOW) as d:
        d.stop("hub")  # failures are where logs say most
        created = book(d, NOW + timedelta(minutes=5), NOW + timedelta(hours=1), PLANTED)
        d.start("hub")
        catch_up(d, lambda: reservation(d, created["id"])["access"]["state"] == "granted")
        access = reservation(d, created["id"])["access"]
        door = d.demo["resources"][0]["doors"][0]
        # Typed only once the doors hold the code: early tries would count towards lock-out.
        wait_for(lambda: d.door_states(created["ref"]) == {"programmed"}, timeout=15)
        assert keypad(d, door, access["code_formatted"])["granted"] is True
        assert keypad(d, door, "000000#")["granted"] is False  # a refusal is logged too
        wait_for(lambda: len(reservation(d, created["id"])["events"]) > 0, timeout=15)
        with d.booking() as api:
            assert api.post(f"/api/v1/reservations/{created['id']}/cancel").status_code == 200
            wait_for(lambda: d.door_states(created["ref"]) == {"revoked"}, timeout=15)
            assert keypad(d, door, access["code_formatted"]).get("reason") == "revoked"
            customer_id = reservation(d, created["id"])["customer"]["id"]
            assert api.post(f"/api/v1/customers/{customer_id}/erase").status_code == 200
        keys = [
            d.demo["booking_api_token"],
            d.demo["hub_api_key"],
            d.demo["locks_api_key"],
            _events_key(d),
        ]
        # A URL key's token, should the credential be one (the demo's resources offer PINs).
        url_tokens = [access["url"].rsplit("/", 1)[-1]] if access.get("url") else []
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    records = [formatter.format(record) for record in caplog.records]
    logged = "\n".join(records)

    # The capture saw the story: every context logged, at the moments that matter.
    for context in ("hallkey.booking", "hallkey.hub", "hallkey.locks"):
        assert any(line.startswith(context) for line in records), context
    assert created["ref"] in logged  # the ref is what logs are meant to name
    assert f"customer {customer_id} erased" in logged

    plain = [
        *PLANTED.values(),
        "Zebulon",
        "Quixwhistle",
        "+4741357986",
        "4741357986",
        "413 57 986",
        "41357986",
        "zq.planted",
        access["code_formatted"],
        *keys,
        *url_tokens,
    ]
    for secret in plain:
        assert secret not in logged, secret
    for key in keys:  # nor the secret half of a key alone
        assert key.partition(".")[2] not in logged
    # A code is six digits: looked for as a whole token, not inside a random id.
    assert not _whole_token(access["code"]).search(logged)


def test_erasure__leaves_no_copy_in_the_sqlite_files__which_only_their_owner_may_read(
    story: Deployment, backend: str, tmp_path: Path
) -> None:
    if backend != "sqlite":
        pytest.skip("PostgreSQL's files are the server's; nothing of them is the app's to scrub")
    files = sorted(tmp_path.glob("*.db*"))
    assert {f.name for f in files} >= {"booking.db", "booking.db-wal", "hub.db", "locks.db"}
    for file in files:
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file.name
    booking = tmp_path / "booking.db"
    assert b"Quixwhistle" in booking.read_bytes() + (tmp_path / "booking.db-wal").read_bytes()

    created = reservation_of(story, PLANTED["email"])
    with story.booking() as api:
        response = api.post(f"/api/v1/customers/{created['customer']['id']}/erase")
    assert response.status_code == 200, response.text

    raw = booking.read_bytes() + (tmp_path / "booking.db-wal").read_bytes()
    assert created["ref"].encode() in raw  # the scan reads the file; the reservation stays
    for needle in ("Zebulon", "Quixwhistle", "+4741357986", "41357986", "zq.planted"):
        assert needle.encode() not in raw, needle


def test_secret_key__generated_file__only_its_owner_may_read(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var", secret_key=None)
    assert len(settings.master_secret) >= 32
    assert stat.S_IMODE((tmp_path / "var" / "secret.key").stat().st_mode) == 0o600
    assert [f.name for f in (tmp_path / "var").iterdir()] == ["secret.key"]  # no leftover
