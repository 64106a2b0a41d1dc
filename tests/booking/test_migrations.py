"""The migrations create exactly what the models declare, and the no-overlap guarantee."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError

from hallkey.booking.context import MIGRATIONS, VERSION_TABLE
from hallkey.booking.models import Base
from hallkey.core.db import create_db_engine
from hallkey.core.migrations import make_config, upgrade
from tests.conftest import DatabaseUrlFactory


def test_migrations__applied_twice__match_the_models_exactly(
    database_url: DatabaseUrlFactory,
) -> None:
    url = database_url("booking")
    upgrade(url, MIGRATIONS, VERSION_TABLE)
    upgrade(url, MIGRATIONS, VERSION_TABLE)
    engine = create_db_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "version_table": VERSION_TABLE}
            )
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert differences == []


def _seed(connection: Connection, at: datetime) -> None:
    """Writes a tenant, venue, resource and customer as the migrations up to 0005 know them."""
    statements = [
        "INSERT INTO booking_tenants VALUES "
        "('ten_1', 'T', 't', 'Europe/Oslo', 'http://hub', 'x', :at)",
        "INSERT INTO booking_venues VALUES ('ven_1', 'ten_1', 'V', '', 'UTC', :at)",
        "INSERT INTO booking_resources (id, tenant_id, venue_id, name, door_ids, credential, "
        "access_before_minutes, access_after_minutes, opening_hours, approval_required, "
        "created_at) VALUES ('res_1', 'ten_1', 'ven_1', 'R', '[]', 'pin', 15, 15, NULL, false, "
        ":at)",
        "INSERT INTO booking_customers (id, tenant_id, created_at, updated_at) "
        "VALUES ('cus_1', 'ten_1', :at, :at)",
    ]
    for statement in statements:
        connection.execute(text(statement), {"at": at})


def _insert_sql() -> str:
    return (
        "INSERT INTO booking_reservations (id, tenant_id, resource_id, customer_id, ref, status, "
        "start_at, end_at, block_end_at, version, access_state, access_credential, created_at, "
        "updated_at) VALUES (:id, 'ten_1', 'res_1', 'cus_1', :ref, :status, :start, :end, "
        "coalesce(:block, :end), 1, 'pending', 'pin', :start, :start)"
    )


@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres)])
def test_postgres_constraint__overlapping_holding_reservations__are_refused(
    database_url: DatabaseUrlFactory, backend: str
) -> None:
    url = database_url("booking")
    upgrade(url, MIGRATIONS, VERSION_TABLE)
    engine = create_db_engine(url)
    t = datetime(2026, 5, 4, 10, tzinfo=UTC)
    t2 = datetime(2026, 5, 4, 12, tzinfo=UTC)
    t3 = datetime(2026, 5, 4, 14, tzinfo=UTC)
    try:
        with engine.begin() as connection:
            _seed(connection, t)
            insert = text(_insert_sql())
            row = {"block": None}
            connection.execute(
                insert, row | {"id": "a", "ref": "ra", "status": "confirmed", "start": t, "end": t2}
            )
            # Touching frames and cancelled reservations do not hold the time.
            connection.execute(
                insert,
                row | {"id": "b", "ref": "rb", "status": "requested", "start": t2, "end": t3},
            )
            connection.execute(
                insert, row | {"id": "c", "ref": "rc", "status": "cancelled", "start": t, "end": t3}
            )
        with (
            pytest.raises(IntegrityError, match="booking_reservations_no_overlap"),
            engine.begin() as connection,
        ):
            connection.execute(
                insert, row | {"id": "d", "ref": "rd", "status": "confirmed", "start": t, "end": t3}
            )
        # A buffer: frames that do not overlap, but the first one's held time (its end and
        # its cleaning buffer) reaches into the next.
        t4, t5 = t3 + timedelta(minutes=10), t3 + timedelta(hours=1)  # e: [t3, t4) + 30 min
        with (
            pytest.raises(IntegrityError, match="booking_reservations_no_overlap"),
            engine.begin() as connection,
        ):
            connection.execute(
                insert,
                {"id": "e", "ref": "re", "status": "confirmed", "start": t3, "end": t4}
                | {"block": t4 + timedelta(minutes=30)},
            )
            connection.execute(
                insert,
                {"id": "f", "ref": "rf", "status": "confirmed", "start": t4 + timedelta(minutes=10)}
                | {"end": t5, "block": None},
            )
    finally:
        engine.dispose()


def test_migration_0003__events_tokens_and_resources_of_0002__are_kept_and_come_back_down(
    database_url: DatabaseUrlFactory,
) -> None:
    url = database_url("booking")
    config = make_config(url, MIGRATIONS, VERSION_TABLE)
    command.upgrade(config, "0002")
    engine = create_db_engine(url)
    at = datetime(2026, 5, 4, 10, tzinfo=UTC)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO booking_tenants VALUES "
                    "('ten_1', 'T', 't', 'Europe/Oslo', 'http://hub', 'x', :at)"
                ),
                {"at": at},
            )
            connection.execute(
                text(
                    "INSERT INTO booking_api_tokens VALUES "
                    "('tok_1', 'ten_1', 'old', 'kid', 'hash', :at, NULL)"
                ),
                {"at": at},
            )
            connection.execute(
                text(
                    "INSERT INTO booking_access_events VALUES "
                    "('hev_1', 'ten_1', 'rsv_1', 'dor_a', 'A', 'access_granted', NULL, :at, :at)"
                ),
                {"at": at},
            )
        command.upgrade(config, "head")
        with engine.begin() as connection:
            events = connection.execute(
                text("SELECT tenant_id, event_id, ref FROM booking_access_events")
            ).all()
            scopes = connection.execute(text("SELECT scopes FROM booking_api_tokens")).scalar()
        assert [tuple(row) for row in events] == [("ten_1", "hev_1", "rsv_1")]
        # Existing tokens keep what they could do before scopes existed.
        assert "staff" in str(scopes) and "events:write" in str(scopes)
        command.downgrade(config, "0002")
        with engine.begin() as connection:
            back = connection.execute(text("SELECT id, tenant_id FROM booking_access_events")).all()
        assert [tuple(row) for row in back] == [("hev_1", "ten_1")]
    finally:
        engine.dispose()


def test_migration_0010__reservations_of_0005__hold_their_own_end_and_come_back_down(
    database_url: DatabaseUrlFactory,
) -> None:
    url = database_url("booking")
    config = make_config(url, MIGRATIONS, VERSION_TABLE)
    command.upgrade(config, "0005")
    engine = create_db_engine(url)
    at = datetime(2026, 5, 4, 10, tzinfo=UTC)
    try:
        with engine.begin() as connection:
            _seed(connection, at)
            connection.execute(
                text(
                    "INSERT INTO booking_reservations (id, tenant_id, resource_id, customer_id, "
                    "ref, status, start_at, end_at, version, access_state, access_credential, "
                    "created_at, updated_at) VALUES ('a', 'ten_1', 'res_1', 'cus_1', 'ra', "
                    "'confirmed', :at, :end, 1, 'pending', 'pin', :at, :at)"
                ),
                {"at": at, "end": at + timedelta(hours=1)},
            )
        command.upgrade(config, "head")
        with engine.begin() as connection:
            row = connection.execute(
                text("SELECT end_at = block_end_at, cancellation_charged FROM booking_reservations")
            ).one()
            rules = connection.execute(
                text(
                    "SELECT buffer_minutes, lead_minutes, slot_minutes, public_holidays_closed, "
                    "max_open_bookings FROM booking_resources"
                )
            ).one()
        assert tuple(row) == (True, False)
        assert tuple(rules) == (0, 0, None, False, None)
        command.downgrade(config, "0005")
        with engine.begin() as connection:
            back = connection.execute(text("SELECT id FROM booking_reservations")).all()
        assert [tuple(r) for r in back] == [("a",)]
    finally:
        engine.dispose()


def test_migration_0016__a_confirmed_reservation_not_yet_pushed__is_marked_as_asked(
    database_url: DatabaseUrlFactory,
) -> None:
    """The push no longer marks a reservation as asked for a grant (queuing it does): one
    queued before the upgrade gets its mark from the migration, so a cancel still revokes."""
    url = database_url("booking")
    config = make_config(url, MIGRATIONS, VERSION_TABLE)
    command.upgrade(config, "0005")  # the schema `_seed` writes
    engine = create_db_engine(url)
    at = datetime(2026, 5, 4, 10, tzinfo=UTC)
    asked = at - timedelta(days=1)
    try:
        with engine.begin() as connection:
            _seed(connection, at)
        command.upgrade(config, "0015")
        with engine.begin() as connection:
            for hour, (rid, status, requested_at) in enumerate(
                (
                    ("queued", "confirmed", None),
                    ("pushed", "confirmed", asked),
                    ("open", "requested", None),
                    ("gone", "cancelled", None),
                )
            ):
                connection.execute(
                    text(
                        "INSERT INTO booking_reservations (id, tenant_id, resource_id, "
                        "customer_id, ref, status, start_at, end_at, block_end_at, version, "
                        "access_state, access_credential, access_requested_at, created_at, "
                        "updated_at) VALUES (:id, 'ten_1', 'res_1', 'cus_1', :id, :status, "
                        ":start, :end, :end, 1, 'pending', 'pin', :asked, :at, :at)"
                    ),
                    {
                        "id": rid,
                        "status": status,
                        "asked": requested_at,
                        "start": at + timedelta(hours=hour),
                        "end": at + timedelta(hours=hour, minutes=30),
                        "at": at,
                    },
                )
        command.upgrade(config, "head")
        with engine.begin() as connection:
            rows = connection.execute(
                text("SELECT id, access_requested_at FROM booking_reservations ORDER BY id")
            ).all()
        marked = {row[0]: row[1] is not None for row in rows}
        assert marked == {"gone": False, "open": False, "pushed": True, "queued": True}
        command.downgrade(config, "0015")
    finally:
        engine.dispose()
