"""The `hallkey` command as an operator runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import update

from hallkey import booking
from hallkey.app import build_contexts
from hallkey.booking.service import SYNC_ACCESS
from hallkey.core.clock import SystemClock
from hallkey.core.security import SecretKeyMismatch
from hallkey.core.settings import ContextName, Settings
from hallkey.hub.admins import SignIn
from hallkey.locks import create_context, create_controller, create_door
from tests.servers import free_port

HALLKEY = [sys.executable, "-m", "hallkey.cli"]
KEY = "cli-test"


def _run(
    *args: str,
    data_dir: Path,
    secret_key: str = KEY,
    timeout: float = 120,
    env_extra: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HALLKEY_")}
    env["HALLKEY_SECRET_KEY"] = secret_key
    env.update(env_extra or {})
    return subprocess.run(
        [*HALLKEY, *args, "--data-dir", str(data_dir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_demo__seeds_once_and_writes_every_key(tmp_path: Path) -> None:
    first = _run("demo", data_dir=tmp_path)
    assert first.returncode == 0, first.stderr
    demo = json.loads((tmp_path / "demo.json").read_text())
    assert {"base_url", "admin", "booking_api_token", "hub_api_key", "locks_api_key"} <= set(demo)
    assert demo["customer"] == {"email": "post@demo-il.example"}
    assert set(demo["hub_admin"]) == {"username", "password"}
    assert (tmp_path / "demo.json").stat().st_mode & 0o077 == 0  # the owner's alone
    again = _run("demo", data_dir=tmp_path)
    assert again.returncode == 0, again.stderr
    assert json.loads((tmp_path / "demo.json").read_text()) == demo


def test_demo__after_an_interrupted_seeding__says_so_plainly(tmp_path: Path) -> None:
    # The door controller's part was committed, then the process died.
    settings = Settings(data_dir=tmp_path, secret_key="cli-test")
    locks = create_context(settings, SystemClock())
    with locks.database.transaction() as session:
        controller_id, _ = create_controller(locks, session, name="Half seeded")
        create_door(
            locks, session, controller_id=controller_id, name="x", door_id="gymsal-hovedinngang"
        )
    locks.close()

    result = _run("demo", data_dir=tmp_path)

    assert result.returncode == 2
    assert "interrupted half-way" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "demo.json").exists()


def test_serve__with_another_secret_key_than_the_databases__refuses_to_start_and_says_why(
    tmp_path: Path,
) -> None:
    assert _run("demo", data_dir=tmp_path).returncode == 0

    # Would serve (and never end) if it started: the timeout fails the test then.
    result = _run(
        "serve", "--port", str(free_port()), data_dir=tmp_path, secret_key="another", timeout=60
    )

    assert result.returncode != 0
    assert (
        "HALLKEY_SECRET_KEY does not match the key this booking database was set up with"
        in result.stderr
    )
    assert "Traceback" not in result.stderr


def test_each_context__started_with_another_secret_key__refuses_to_start(
    tmp_path: Path,
) -> None:
    seeded = _run("demo", data_dir=tmp_path)
    assert seeded.returncode == 0, seeded.stderr

    roles: tuple[ContextName, ...] = ("booking", "hub", "locks")
    for role in roles:
        wrong = Settings(data_dir=tmp_path, secret_key="another")
        with pytest.raises(SecretKeyMismatch, match=f"the key this {role} database was set up"):
            build_contexts(wrong, roles=(role,))
        build_contexts(Settings(data_dir=tmp_path, secret_key=KEY), roles=(role,)).close()


def test_jobs_retry__a_job_given_up_on__is_listed_and_queued_again(tmp_path: Path) -> None:
    ctx = booking.create_context(Settings(data_dir=tmp_path, secret_key=KEY), SystemClock())
    with ctx.database.transaction() as session:
        dead_id = ctx.jobs.enqueue(session, SYNC_ACCESS, {"reservation_id": "bkg_1"}, peer="hub")
        ctx.jobs.enqueue(session, SYNC_ACCESS, {"reservation_id": "bkg_2"}, peer="hub")
        table = ctx.jobs.table
        session.execute(
            update(table)
            .where(table.c.id == dead_id)
            .values(status="dead", attempts=7, last_error="hub refused: 422")
        )
    ctx.close()

    listed = _run("jobs", "list", "--role", "booking", "--dead", data_dir=tmp_path)
    assert listed.returncode == 0, listed.stderr
    rows = [line.split("\t") for line in listed.stdout.splitlines()[1:]]
    assert [(row[0], row[1], row[2], row[3]) for row in rows] == [
        (dead_id, SYNC_ACCESS, "dead", "7")
    ]
    assert "bkg_1" not in listed.stdout  # payloads are not shown

    retried = _run("jobs", "retry", "--role", "booking", "--kind", SYNC_ACCESS, data_dir=tmp_path)
    assert retried.returncode == 0, retried.stderr
    assert "1 dead job(s) queued again" in retried.stdout

    ctx = booking.create_context(Settings(data_dir=tmp_path, secret_key=KEY), SystemClock())
    with ctx.database.transaction() as session:
        row = session.execute(ctx.jobs.table.select().where(table.c.id == dead_id)).one()
        assert (row.status, row.attempts) == ("pending", 0)
        assert row.run_at <= ctx.clock.now()
        assert ctx.jobs.pending_count(session, SYNC_ACCESS) == 2
    ctx.close()
    again = _run("jobs", "list", "--role", "booking", "--dead", data_dir=tmp_path)
    assert again.stdout.splitlines()[1:] == []


def test_keys_rotate__twice__new_signing_key_each_time_and_the_old_ones_retired(
    tmp_path: Path,
) -> None:
    from sqlalchemy import select

    from hallkey import hub
    from hallkey.hub.models import SigningKey

    first = _run("keys", "rotate", data_dir=tmp_path)
    second = _run("keys", "rotate", data_dir=tmp_path)

    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    kids = [run.stdout.strip().rsplit(" ", 1)[-1] for run in (first, second)]
    assert kids[0] != kids[1] and all(kid.startswith("mkk_") for kid in kids)
    ctx = hub.create_context(Settings(data_dir=tmp_path, secret_key=KEY), SystemClock())
    with ctx.database.transaction() as session:
        keys = {key.kid: key.retired_at for key in session.scalars(select(SigningKey))}
    ctx.close()
    assert set(keys) == set(kids)
    assert keys[kids[0]] is not None and keys[kids[1]] is None


def _apply(*args: str, env_extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HALLKEY_")}
    fjellby = Path(__file__).parent / "e2e" / "fjellby.toml"
    return subprocess.run(
        [*HALLKEY, "apply", str(fjellby), *args],
        env={**env, **env_extra},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_apply__no_operator_key__says_which_to_set_and_how_to_make_it() -> None:
    result = _apply("--dry-run", env_extra={})
    assert result.returncode == 2
    assert "HALLKEY_BOOKING_OPERATOR_KEY" in result.stderr
    assert "hallkey operator-key --role booking" in result.stderr


def test_apply__context_unreachable__fails_naming_it_without_a_traceback(tmp_path: Path) -> None:
    keys = {
        f"HALLKEY_{role}_OPERATOR_KEY": f"hk{role[0].lower()}o_0123.secret"
        for role in ("BOOKING", "HUB", "LOCKS")
    }
    nowhere = f"http://127.0.0.1:{free_port()}"
    keys["FJELLBY_ADMIN_PASSWORD"] = "fjellby admin passphrase"
    # With --keys-out no staff password is missing: the locks context is the first one asked.
    keys_out = f"--keys-out={tmp_path / 'keys.json'}"
    result = _apply(f"--locks-url={nowhere}", keys_out, env_extra=keys)
    assert result.returncode == 1
    assert f"cannot reach {nowhere}" in result.stderr
    assert "Traceback" not in result.stderr
    assert "secret" not in result.stderr


def test_hub_admin__made_from_the_environment_and_signs_in__short_password_refused(
    tmp_path: Path,
) -> None:
    made = _run(
        "hub-admin", "drift", data_dir=tmp_path,
        env_extra={"HALLKEY_NEW_PASSWORD": "a long enough password"},
    )  # fmt: skip
    short = _run("hub-admin", "kort", data_dir=tmp_path, env_extra={"HALLKEY_NEW_PASSWORD": "x"})
    taken = _run(
        "hub-admin", "drift", data_dir=tmp_path,
        env_extra={"HALLKEY_NEW_PASSWORD": "another long password"},
    )  # fmt: skip

    assert made.returncode == 0, made.stderr
    assert "a long enough password" not in made.stdout + made.stderr
    assert short.returncode == 2 and "at least 12 characters" in short.stderr
    assert taken.returncode == 2 and "taken" in taken.stderr
    settings = Settings(data_dir=tmp_path, secret_key=KEY)
    contexts = build_contexts(settings, roles=("hub",))
    try:
        assert contexts.hub is not None
        with contexts.hub.database.transaction() as session:
            token = SignIn(contexts.hub).sign_in(
                session, "drift", "a long enough password", "127.0.0.1"
            )
        assert len(token) >= 40
    finally:
        contexts.close()


def test_serve__settings_that_do_not_validate__each_named_in_one_line__no_traceback(
    tmp_path: Path,
) -> None:
    secret = "a-secret-that-must-not-be-echoed"
    result = _run(
        "serve",
        data_dir=tmp_path,
        secret_key=secret,
        env_extra={"HALLKEY_WORKER_CLAIM_AHEAD": "-1", "HALLKEY_DATABASE_CONNECTIONS": secret},
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "hallkey: HALLKEY_DATABASE_CONNECTIONS: Input should be a valid integer, unable to parse "
        "string as an integer; HALLKEY_WORKER_CLAIM_AHEAD: Input should be greater than or "
        "equal to 0"
    ]
    assert secret not in result.stdout + result.stderr
    assert list(tmp_path.iterdir()) == []  # nothing was started or made
