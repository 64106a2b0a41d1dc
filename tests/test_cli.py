"""The `hallkey` command as an operator runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from hallkey.core.clock import SystemClock
from hallkey.core.settings import Settings
from hallkey.locks import create_context, create_controller, create_door

HALLKEY = [sys.executable, "-m", "hallkey.cli"]


def _run(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HALLKEY_")}
    env["HALLKEY_SECRET_KEY"] = "cli-test"
    return subprocess.run(
        [*HALLKEY, *args, "--data-dir", str(data_dir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_demo__seeds_once_and_writes_every_key(tmp_path: Path) -> None:
    first = _run("demo", data_dir=tmp_path)
    assert first.returncode == 0, first.stderr
    demo = json.loads((tmp_path / "demo.json").read_text())
    assert {"base_url", "admin", "booking_api_token", "hub_api_key", "locks_api_key"} <= set(demo)
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
