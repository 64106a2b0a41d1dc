"""The locks migrations create exactly what the models declare."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from hallkey.core.db import create_db_engine
from hallkey.core.migrations import make_config, upgrade
from hallkey.locks.context import MIGRATIONS, VERSION_TABLE
from hallkey.locks.models import Base
from tests.conftest import DatabaseUrlFactory
from tests.sql import index_definition, leaving_out_indexes

CODE_ORDER_INDEX = "ix_locks_credentials_door_id_ref_c"
"""PostgreSQL's index of a door's refs in code-point order (a column under "C")."""


@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based")
def test_migrated_schema__matches_the_models(database_url: DatabaseUrlFactory) -> None:
    url = database_url("locks")
    upgrade(url, MIGRATIONS, VERSION_TABLE)
    upgrade(url, MIGRATIONS, VERSION_TABLE)  # a second start finds nothing to do
    engine = create_db_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={
                    "compare_type": True,
                    "version_table": VERSION_TABLE,
                    "include_object": leaving_out_indexes({CODE_ORDER_INDEX}),
                },
            )
            assert compare_metadata(context, Base.metadata) == []
            if connection.dialect.name == "postgresql":
                # Alembic compares the column's collation no better: checked by its SQL.
                definition = index_definition(connection, CODE_ORDER_INDEX)
                assert definition is not None and '(door_id, ref COLLATE "C")' in definition
            assert (
                connection.exec_driver_sql(f"SELECT version_num FROM {VERSION_TABLE}").scalar()
                == ScriptDirectory(str(MIGRATIONS)).get_current_head()
            )
    finally:
        engine.dispose()


def test_migration_0008__doors_of_0007__get_a_bound_of_their_credentials_not_revoked(
    database_url: DatabaseUrlFactory,
) -> None:
    url = database_url("locks")
    config = make_config(url, MIGRATIONS, VERSION_TABLE)
    command.upgrade(config, "0007")
    engine = create_db_engine(url)
    at = datetime(2026, 5, 4, 10, tzinfo=UTC)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO locks_controllers (id, name, api_key_id, api_secret_hash, "
                    "pin_secret_sealed, created_at) VALUES ('ctl_1', 'C', 'k', 'h', 's', :at)"
                ),
                {"at": at},
            )
            for door in ("door-a", "door-b"):
                connection.execute(
                    text(
                        "INSERT INTO locks_doors (id, controller_id, name, max_credentials, "
                        "created_at) VALUES (:door, 'ctl_1', 'D', 1000, :at)"
                    ),
                    {"door": door, "at": at},
                )
            for n, revoked in enumerate([False, False, True]):
                connection.execute(
                    text(
                        "INSERT INTO locks_credentials (id, door_id, ref, type, revoked, "
                        "version, updated_at) VALUES (:id, 'door-a', :ref, 'pin', :revoked, 0, :at)"
                    ),
                    {"id": f"crd_{n}", "ref": f"rsv_{n}", "revoked": revoked, "at": at},
                )
        command.upgrade(config, "head")
        with engine.begin() as connection:
            bounds = connection.execute(
                text("SELECT id, places_bound FROM locks_doors ORDER BY id")
            ).all()
        assert [tuple(row) for row in bounds] == [("door-a", 2), ("door-b", 0)]
    finally:
        engine.dispose()
