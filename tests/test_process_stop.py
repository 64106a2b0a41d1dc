"""Stopping `hallkey serve --workers N`'s processes: a process that does not stop on SIGTERM
within its time is killed, and the log says which; the others stop as asked."""

from __future__ import annotations

import logging
import multiprocessing
import signal
import time
from collections.abc import Callable
from multiprocessing.process import BaseProcess

import pytest

from hallkey.processes import stop_processes


def _ignores_sigterm() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    time.sleep(60)


def _stops_on_sigterm() -> None:
    time.sleep(60)


def _started(target: Callable[[], None]) -> BaseProcess:
    process = multiprocessing.get_context("spawn").Process(target=target)
    process.start()
    return process


def test_stop_processes__one_ignores_sigterm__it_is_killed_after_the_time__the_other_stops(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stubborn, willing = _started(_ignores_sigterm), _started(_stops_on_sigterm)
    time.sleep(1.5)  # both past start-up: the stubborn one has set its handler
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
