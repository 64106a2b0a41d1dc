"""The SQL work counters are labelled by the context, whatever its database is called."""

from __future__ import annotations

from prometheus_client import REGISTRY
from sqlalchemy import text

from hallkey.core.db import Database
from tests.conftest import DatabaseUrlFactory


def _count(metric: str, name: str) -> float:
    return REGISTRY.get_sample_value(metric, {"database": name}) or 0.0


def test_statements_and_transactions__counted_under_the_context_name(
    database_url: DatabaseUrlFactory,
) -> None:
    # A name no other test gives a database: the counters are process-wide.
    database = Database(database_url("some_random_name"), name="metrics-probe")
    try:
        statements = _count("hallkey_db_statements_total", "metrics-probe")
        transactions = _count("hallkey_db_transactions_total", "metrics-probe")
        with database.transaction() as session:
            session.execute(text("SELECT 1"))
            session.execute(text("SELECT 2"))
        assert _count("hallkey_db_statements_total", "metrics-probe") >= statements + 2
        assert _count("hallkey_db_transactions_total", "metrics-probe") == transactions + 1
        assert _count("hallkey_db_statements_total", "some_random_name") == 0
    finally:
        database.engine.dispose()
