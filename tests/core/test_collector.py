"""The garbage collector's set-up for a server: start-up frozen, young collections spaced out,
cycles still collected. Each check runs in a fresh interpreter (not this test process's GC)."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import gc, weakref
from hallkey.core.collector import YOUNG_THRESHOLD, settle_after_startup

startup = [object() for _ in range(1000)]
settle_after_startup()
print(gc.get_threshold()[0] == YOUNG_THRESHOLD, gc.get_freeze_count() >= 1000)

class Node:
    pass

collected = []
a, b = Node(), Node()
a.other, b.other = b, a
weakref.finalize(a, collected.append, "cycle")
del a, b
# More allocations than the young threshold: a collection comes by itself, no gc.collect().
keep = [[] for _ in range(3 * YOUNG_THRESHOLD)]
print(collected == ["cycle"])
"""


def test_settle_after_startup__freezes_start_up__spaces_collections__cycles_still_go() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["True", "True", "True"]
