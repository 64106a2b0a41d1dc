"""Stopping `hallkey serve --workers N`'s processes: a process that does not stop on SIGTERM
within its time is killed, and the log says which; the others stop as asked."""

from __future__ import annotations

import logging
import multiprocessing
import signal
import time
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Event as EventType

import pytest

from hallkey.processes import stop_processes

SPAWN = multiprocessing.get_context("spawn")


def _ignores_sigterm(ready: EventType) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    ready.set()
    time.sleep(60)


def _stops_on_sigterm(ready: EventType) -> None:
    ready.set()
    time.sleep(60)


def _started(target: Callable[[EventType], None]) -> BaseProcess:
    """Starts `target` in a spawned process and returns once it has said it is ready (a
    loaded machine takes seconds to start one)."""
    ready = SPAWN.Event()
    process = SPAWN.Process(target=target, args=(ready,))
    process.start()
    assert ready.wait(60)
    return process


def test_stop_processes__one_ignores_sigterm__it_is_killed_after_the_time__the_other_stops(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stubborn, willing = _started(_ignores_sigterm), _started(_stops_on_sigterm)
    started = time.monotonic()
    with caplog.at_level(logging.ERROR, logger="hallkey.processes"):
        killed = stop_processes([stubborn, willing], within_seconds=1.0)
    assert time.monotonic() - started < 10
    assert killed == [stubborn.pid]
    assert stubborn.exitcode == -signal.SIGKILL
    assert willing.exitcode == -signal.SIGTERM
    assert f"server process {stubborn.pid} did not stop within 1 s of SIGTERM" in caplog.text


def test_stop_processes__all_stop_on_sigterm__none_is_killed_nothing_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    processes = [_started(_stops_on_sigterm) for _ in range(2)]
    with caplog.at_level(logging.ERROR, logger="hallkey.processes"):
        assert stop_processes(processes, within_seconds=30) == []
    assert [process.exitcode for process in processes] == [-signal.SIGTERM] * 2
    assert caplog.text == ""
