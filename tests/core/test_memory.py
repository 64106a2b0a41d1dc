"""The malloc arena cap: applied in a fresh process, left to the operator when they chose."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from hallkey.core.memory import limit_malloc_arenas

PROBE = "from hallkey.core.memory import limit_malloc_arenas; print(limit_malloc_arenas())"


def _run(env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


@pytest.mark.skipif(sys.platform != "linux", reason="glibc's mallopt is Linux's")
def test_limit_malloc_arenas__fresh_process__is_applied() -> None:
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    assert _run(env) == "True"


def test_limit_malloc_arenas__operator_set_malloc_arena_max__is_left_alone() -> None:
    assert _run({**os.environ, "MALLOC_ARENA_MAX": "4"}) == "False"


def test_limit_malloc_arenas__not_linux__does_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    assert limit_malloc_arenas() is False
