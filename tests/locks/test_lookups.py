"""The door's lookups stay cheap however many codes it holds: the keypad seeks an index, the
capacity check counts no further than the door's capacity."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, insert, text, update
from sqlalchemy.engine import Connection

from hallkey.locks import repository
from hallkey.locks.models import Credential, CredentialWindow, Door
from tests.locks.conftest import DOOR, T0, Locks, window
from tests.sql import plan_without_statistics, sent_with_parameters, sorts, statements

HOUR = timedelta(hours=1)
HOURS = [window(T0 + h * HOUR, T0 + (h + 1) * HOUR) for h in range(1, 4)]


def _fill(locks: Locks, count: int) -> None:
    """Stores `count` other codes on the door, live from T0 on (as other bookings' are)."""
    rows = [
        {
            "id": f"crd_fill_{n:05d}",
            "door_id": DOOR,
            "ref": f"rsv_fill{n:05d}",
            "type": "pin",
            "code_digest": secrets.token_hex(32),
            "revoked": False,
            "version": 0,
            "updated_at": T0,
        }
        for n in range(count)
    ]
    with locks.ctx.database.transaction() as session:
        session.execute(update(Door).where(Door.id == DOOR).values(max_credentials=count + 10))
        session.execute(insert(Credential), rows)
        session.execute(
            insert(CredentialWindow),
            [
                {"credential_id": row["id"], "valid_from_at": T0, "valid_to_at": T0 + 9 * HOUR}
                for row in rows
            ],
        )


def test_keypad_lookup__many_codes_on_the_door__seeks_the_door_digest_index(
    locks: Locks, backend: str
) -> None:
    if backend != "sqlite":
        pytest.skip("the query plan is SQLite's (PostgreSQL's planner weighs its statistics)")
    _fill(locks, 3000)
    assert locks.put_pin("rsv_mine", "482915", HOURS[:1]).status_code == 200
    statements: list[tuple[str, Any]] = []

    def capture(_conn: Connection, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "code_digest = " in statement and statement.lstrip().startswith("SELECT"):
            statements.append((statement, parameters))

    engine = locks.ctx.database.engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        locks.clock.set(T0 + HOUR)
        assert locks.keypad("482915")["granted"] is True
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert len(statements) == 1
    statement, parameters = statements[0]
    with engine.connect() as connection:
        plan = " ".join(
            str(row[-1])
            for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
        )
    # Not the (door, ref) index walked over every code of the door in ref order.
    assert "ix_locks_credentials_door_id_code_digest" in plan, plan
    assert "autoindex" not in plan, plan


def test_count_active_credentials__stops_at_up_to(locks: Locks) -> None:
    for n, code in enumerate(("100001", "100002", "100003")):
        assert locks.put_pin(f"rsv_{n}", code, HOURS).status_code == 200
    with locks.ctx.database.read() as session:

        def count(up_to: int, except_ref: str = "rsv_none") -> int:
            return repository.count_active_credentials(
                session, DOOR, T0, except_ref=except_ref, up_to=up_to
            )

        assert count(10) == 3
        assert count(3) == 3
        assert count(2) == 2
        assert count(10, except_ref="rsv_0") == 2
        # Revoked codes and ended windows hold no place.
        session.execute(text("UPDATE locks_credentials SET revoked = true WHERE ref = 'rsv_1'"))
        assert count(10) == 2
        assert (
            repository.count_active_credentials(
                session, DOOR, T0 + 4 * HOUR, except_ref="rsv_none", up_to=10
            )
            == 0
        )


def test_request__looks_its_controller_key_up_once(locks: Locks) -> None:
    with statements(locks.ctx.database.engine) as seen:
        assert locks.put_pin("rsv_1", "482915", HOURS[:1]).status_code == 200
        locks.clock.set(T0 + HOUR)
        assert locks.keypad("482915")["granted"] is True
    lookups = [s for s in seen if "locks_controllers.api_key_id = " in s]
    # The guard's check; the route takes the controller it found (it looked twice before).
    assert len(lookups) == 2


def test_request__wrong_controller_key__is_401_and_changes_nothing(locks: Locks) -> None:
    wrong = "hkl_" + "0" * 16 + "." + "x" * 43
    response = locks.client.put(
        f"/locks/v1/doors/{DOOR}/credentials/rsv_1",
        json={"type": "pin", "code": "482915", "windows": HOURS[:1]},
        headers={"Authorization": f"Bearer {wrong}"},
    )
    assert response.status_code == 401
    with locks.ctx.database.read() as session:
        assert repository.credential(session, DOOR, "rsv_1") is None


def test_reconciler_page__many_codes_on_the_door__read_in_ref_order_without_a_sort(
    locks: Locks,
) -> None:
    """A page of the door's credentials by ref (the reconciler's) is read along an index in
    code-point order: on PostgreSQL that needs its own index (`COLLATE "C"`), or every page
    scans and sorts all of the door's codes."""
    _fill(locks, 3000)
    engine = locks.ctx.database.engine
    with sent_with_parameters(engine, "ORDER BY") as sent, locks.ctx.database.read() as session:
        page = repository.credentials_of_door(session, DOOR, after="rsv_fill01000", limit=50)
        refs = [credential.ref for credential in page]
    assert refs == [f"rsv_fill{n:05d}" for n in range(1001, 1051)]
    plan = plan_without_statistics(engine, *sent[0])
    assert not sorts(plan), plan
