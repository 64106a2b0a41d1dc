"""Reads a QR code back from the SVG that segno draws, with zbar (as a phone's camera would)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

_SIZE = re.compile(r'width="(\d+)"')
_SCALE = re.compile(r"scale\((\d+)\)")
_PATH = re.compile(r' d="([^"]+)"')
_STEP = re.compile(r"([Mmh])(-?[\d.]+)(?:\s(-?[\d.]+))?")
PIXELS = 4


def svg_modules(svg: str) -> list[list[int]]:
    """Returns the dark modules of a segno SVG QR code (its one path of runs), border included."""
    size_match, scale_match, path_match = _SIZE.search(svg), _SCALE.search(svg), _PATH.search(svg)
    assert size_match and scale_match and path_match, "not a segno QR code"
    modules = int(size_match.group(1)) // int(scale_match.group(1))
    grid = [[0] * modules for _ in range(modules)]
    x = y = 0.0
    for op, first, second in _STEP.findall(path_match.group(1)):
        if op == "M":
            x, y = float(first), float(second)
        elif op == "m":
            x, y = x + float(first), y + float(second)
        else:
            for column in range(int(x), int(x) + int(float(first))):
                grid[int(y)][column] = 1
            x += float(first)
    return grid


def read_qr(svg: str, folder: Path) -> str:
    """Returns the content of the QR code drawn in `svg`; skips without zbar installed."""
    zbarimg = shutil.which("zbarimg")
    if zbarimg is None:
        pytest.skip("zbarimg (Debian: zbar-tools) is not installed: the QR code is not read back")
    grid = svg_modules(svg)
    rows = [
        " ".join(str(cell) for cell in row for _ in range(PIXELS))
        for row in grid
        for _ in range(PIXELS)
    ]
    image = folder / "qr.pbm"
    image.write_text(f"P1\n{len(grid) * PIXELS} {len(grid) * PIXELS}\n" + "\n".join(rows) + "\n")
    done = subprocess.run(
        [zbarimg, "--raw", "-q", str(image)], capture_output=True, text=True, check=False
    )
    return done.stdout.rstrip("\n")
