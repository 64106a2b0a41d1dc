"""The hub's migrations create exactly what its models declare."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from hallkey.core.db import create_db_engine
from hallkey.core.migrations import upgrade
from hallkey.hub.context import MIGRATIONS, VERSION_TABLE
from hallkey.hub.models import Base
from tests.conftest import DatabaseUrlFactory
from tests.sql import index_definition, leaving_out_indexes

CODE_ORDER_INDEX = "ix_hub_grant_doors_door_id_ref_c"
"""PostgreSQL's index of a door's rows by ref in code-point order (a column under "C")."""
SQLITE_ORDER_INDEX = "ix_hub_grant_doors_door_id_ref"
"""SQLite's index for the same order (it compares by code point as it is)."""


@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based")
def test_migrations__schema_matches_the_models(database_url: DatabaseUrlFactory) -> None:
    url = database_url("hub")
    upgrade(url, MIGRATIONS, VERSION_TABLE)
    upgrade(url, MIGRATIONS, VERSION_TABLE)  # a second run is a no-op
    engine = create_db_engine(url)
    try:
        with engine.connect() as connection:
            dialect = connection.dialect.name
            context = MigrationContext.configure(
                connection,
                opts={
                    "compare_type": True,
                    "version_table": VERSION_TABLE,
                    # Compared by its SQL below; the other is SQLite's.
                    "include_object": leaving_out_indexes(
                        {CODE_ORDER_INDEX}
                        | ({SQLITE_ORDER_INDEX} if dialect != "sqlite" else set())
                    ),
                },
            )
            differences = compare_metadata(context, Base.metadata)
            if dialect == "postgresql":
                definition = index_definition(connection, CODE_ORDER_INDEX)
                assert definition is not None
                assert '(door_id, ref COLLATE "C", grant_id)' in definition
    finally:
        engine.dispose()
    assert differences == []
    assert all(table.startswith("hub_") for table in Base.metadata.tables)
