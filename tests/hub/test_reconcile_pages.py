"""The reconciler's pages of a door's grant rows: by ref in code-point order, read along the
(door_id, ref) index of `hub_grant_doors` (whose rows keep their grant's ref), and a database
migrated from before that copy fills it from the grants."""

from __future__ import annotations

from typing import Any

from alembic import command
from sqlalchemy import select, update

from hallkey.core.migrations import make_config
from hallkey.hub import reconcile_queries
from hallkey.hub.context import MIGRATIONS, VERSION_TABLE
from hallkey.hub.models import GrantDoor
from tests.hub.conftest import START, HubWorld
from tests.sql import plan_without_statistics, sent_with_parameters, sorts

REFS = ["rsv_b", "rsv_A", "rsv_a-2", "rsv_a_1", "rsv_C"]


def _programmed(hub: HubWorld) -> None:
    for ref in REFS:
        hub.grant(ref)
    with hub.ctx.database.transaction() as session:
        session.execute(update(GrantDoor).values(state="programmed"))


def _page(hub: HubWorld, after: str | None, limit: int) -> tuple[list[str], list[tuple[str, Any]]]:
    engine, door = hub.ctx.database.engine, hub.doors[0]
    with sent_with_parameters(engine, "ORDER BY") as sent, hub.ctx.database.read() as session:
        rows = reconcile_queries.applied_at_door(session, door, START, after=after, limit=limit)
        refs = [ref for _, ref in rows]
    return refs, sent


def test_applied_at_door__pages__in_code_point_order_along_the_index_without_a_sort(
    hub: HubWorld,
) -> None:
    _programmed(hub)
    first, _ = _page(hub, None, 3)
    rest, captured = _page(hub, first[-1], 3)
    assert first + rest == sorted(REFS)  # code points: capitals first, "-" before "_"
    plan = plan_without_statistics(hub.ctx.database.engine, *captured[0])
    assert not sorts(plan), plan


def test_migration_0013__door_rows_of_existing_grants__get_their_grants_refs(
    hub: HubWorld,
) -> None:
    _programmed(hub)
    hub.ctx.database.dispose()
    url = hub.ctx.database.engine.url.render_as_string(hide_password=False)
    config = make_config(url, MIGRATIONS, VERSION_TABLE)
    command.downgrade(config, "0012")
    command.upgrade(config, "head")
    with hub.ctx.database.read() as session:
        refs = session.scalars(select(GrantDoor.ref).order_by(GrantDoor.ref)).all()
    assert refs == sorted(REFS)
