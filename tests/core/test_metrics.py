"""`/metrics` under several server processes: any one of them shows the sum of all."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from hallkey.core.metrics import MULTIPROCESS_ENV, exposition, shared_between_processes

COUNT_ONE = """
from prometheus_client import Counter
Counter("hallkey_probe_total", "a probe", ["who"]).labels("{who}").inc({times})
"""


def _probes(text: str) -> dict[str, float]:
    return {
        sample.labels["who"]: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "hallkey_probe_total"
    }


def test_exposition__processes_sharing_a_folder__are_summed_and_the_folder_goes_after() -> None:
    with shared_between_processes() as folder:
        for who, times in (("a", 2), ("a", 3), ("b", 1)):  # three processes, one after another
            code = COUNT_ONE.format(who=who, times=times)
            subprocess.run([sys.executable, "-c", code], check=True, env=dict(os.environ))
        assert _probes(exposition().decode()) == {"a": 5.0, "b": 1.0}
    assert MULTIPROCESS_ENV not in os.environ
    assert not Path(folder).exists()


def test_exposition__one_process__is_its_own_registry() -> None:
    assert MULTIPROCESS_ENV not in os.environ
    assert b"hallkey_http_request_seconds" in exposition()
