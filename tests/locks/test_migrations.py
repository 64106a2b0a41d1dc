"""The locks migrations create exactly what the models declare."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from hallkey.core.db import create_db_engine
from hallkey.core.migrations import upgrade
from hallkey.locks.context import MIGRATIONS, VERSION_TABLE
from hallkey.locks.models import Base
from tests.conftest import DatabaseUrlFactory


def test_migrated_schema__matches_the_models(database_url: DatabaseUrlFactory) -> None:
    url = database_url("locks")
    upgrade(url, MIGRATIONS, VERSION_TABLE)
    upgrade(url, MIGRATIONS, VERSION_TABLE)  # a second start finds nothing to do
    engine = create_db_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "version_table": VERSION_TABLE}
            )
            assert compare_metadata(context, Base.metadata) == []
            assert (
                connection.exec_driver_sql(f"SELECT version_num FROM {VERSION_TABLE}").scalar()
                == ScriptDirectory(str(MIGRATIONS)).get_current_head()
            )
    finally:
        engine.dispose()
