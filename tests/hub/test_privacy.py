"""Privacy and robustness: no plain codes or addresses at rest, retention, concurrent repeats."""

from __future__ import annotations

import threading
from datetime import timedelta

import httpx
from sqlalchemy import select

from hallkey.core.web import create_app
from hallkey.hub import build_part
from hallkey.hub.models import Base, Grant
from tests.hub.conftest import EMAIL, END, PHONE, HubWorld
from tests.servers import serving


def _database_text(hub: HubWorld) -> str:
    parts: list[str] = []
    with hub.ctx.database.transaction() as session:
        for table in Base.metadata.sorted_tables:
            for row in session.execute(select(table)).all():
                parts.append(" ".join(str(value) for value in row))
    return "\n".join(parts)


def _recipient(hub: HubWorld, ref: str) -> tuple[str | None, str | None]:
    with hub.ctx.database.transaction() as session:
        grant = session.scalars(select(Grant).where(Grant.ref == ref)).one()
        return grant.recipient_phone_sealed, grant.recipient_email_sealed


def test_privacy__code_phone_and_email_are_not_stored_in_plain_text(hub: HubWorld) -> None:
    code = hub.grant()["code"]
    hub.run_jobs()
    hub.post("UpdateAccess", {"ref": "rsv_one", "valid_to": "2026-12-01T19:30:00Z"})
    hub.run_jobs()
    text = _database_text(hub)
    assert "rsv_one" in text  # the scan does read the rows
    for secret in (code, PHONE, PHONE.removeprefix("+47"), EMAIL):
        assert secret not in text


def test_retention__phone_and_email_deleted_7_days_after_the_end_and_not_before(
    hub: HubWorld,
) -> None:
    hub.grant("rsv_ends")
    hub.grant("rsv_later", valid_to="2026-12-20T18:00:00Z")
    hub.grant("rsv_revoked", valid_to="2026-12-20T18:00:00Z")
    hub.run_jobs()
    hub.post("RevokeAccess", {"ref": "rsv_revoked"})
    hub.run_jobs()
    assert len(hub.message_files()) == 8  # granted x 3 and revoked x 1, by SMS and email

    hub.clock.set(END + timedelta(days=7) - timedelta(minutes=1))
    hub.run_jobs()
    assert all(_recipient(hub, "rsv_ends"))

    hub.clock.set(END + timedelta(days=7, hours=1))
    hub.run_jobs()
    assert _recipient(hub, "rsv_ends") == (None, None)
    # Nothing that was derived from the phone and email is kept either.
    with hub.ctx.database.transaction() as session:
        fingerprint = session.scalar(select(Grant.fingerprint).where(Grant.ref == "rsv_ends"))
    assert fingerprint == "purged"
    assert hub.message_files() == []  # the local outbox keeps messages 7 days after sending
    assert _recipient(hub, "rsv_revoked") == (None, None)  # revoked at T0, 7 days passed
    assert all(_recipient(hub, "rsv_later"))
    # The grant itself, its ref and doors stay for the record.
    assert hub.get("grants/rsv_ends").json()["ref"] == "rsv_ends"


def test_grant_access__identical_concurrent_calls__one_grant(hub: HubWorld) -> None:
    app = create_app([build_part(hub.ctx)], run_workers=False)
    statuses: list[int] = []
    codes: set[str] = set()
    lock = threading.Lock()
    with serving(app) as server:

        def call() -> None:
            response = httpx.post(
                f"{server.base_url}/hub/v1/GrantAccess",
                json=hub.grant_body("rsv_race"),
                headers=hub.headers(),
                timeout=30,
            )
            with lock:
                statuses.append(response.status_code)
                codes.add(response.json().get("code", "?"))

        threads = [threading.Thread(target=call) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(statuses) == [200] * 5 + [201]
    assert len(codes) == 1
    with hub.ctx.database.transaction() as session:
        assert len(session.scalars(select(Grant).where(Grant.ref == "rsv_race")).all()) == 1
