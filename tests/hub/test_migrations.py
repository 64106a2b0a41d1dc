"""The hub's migrations create exactly what its models declare."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from hallkey.core.db import create_db_engine
from hallkey.core.migrations import upgrade
from hallkey.hub.context import MIGRATIONS, VERSION_TABLE
from hallkey.hub.models import Base
from tests.conftest import DatabaseUrlFactory


def test_migrations__schema_matches_the_models(database_url: DatabaseUrlFactory) -> None:
    url = database_url("hub")
    upgrade(url, MIGRATIONS, VERSION_TABLE)
    upgrade(url, MIGRATIONS, VERSION_TABLE)  # a second run is a no-op
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
    assert all(table.startswith("hub_") for table in Base.metadata.tables)
