"""What `/metrics` shows: this process's metrics or, under `hallkey serve --workers N`, those of
all the server processes summed.

prometheus_client keeps each process's values in memory, so a scrape of one of N processes on a
shared port would show whichever process the kernel gave the connection to. `run_processes`
therefore starts its processes with `PROMETHEUS_MULTIPROC_DIR` set to a fresh folder: each
process's client library (imported after, in a spawned interpreter) then writes its values to
files there, and any process's `/metrics` reads them all (`MultiProcessCollector`: counters and
histograms summed; the files of a process that died and was replaced still count, so totals
never go back). The per-process `process_*` and `python_*` metrics are left out then.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
"""prometheus_client's own setting: the folder its processes share their values through."""


def exposition() -> bytes:
    """Returns the metrics in Prometheus' text format: every server process's when they
    share a folder, else this process's."""
    folder = os.environ.get(MULTIPROCESS_ENV)
    if not folder:
        return bytes(generate_latest())
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=folder)  # type: ignore[no-untyped-call]
    return bytes(generate_latest(registry))


@contextmanager
def shared_between_processes() -> Iterator[str]:
    """Sets `PROMETHEUS_MULTIPROC_DIR` to a fresh folder for the processes started inside (they
    must be spawned, not forked: the library reads it at import); removes both after."""
    folder = tempfile.mkdtemp(prefix="hallkey-metrics-")
    previous = os.environ.get(MULTIPROCESS_ENV)
    os.environ[MULTIPROCESS_ENV] = folder
    try:
        yield folder
    finally:
        if previous is None:
            os.environ.pop(MULTIPROCESS_ENV, None)
        else:
            os.environ[MULTIPROCESS_ENV] = previous
        shutil.rmtree(folder, ignore_errors=True)
