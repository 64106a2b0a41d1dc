"""The README stays true: its set-up example is the file the tests apply, and every setting
is documented."""

from __future__ import annotations

import tomllib
from pathlib import Path

from hallkey.apply import parse_setup
from hallkey.core.settings import Settings

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text()


def test_readme_example__is_a_valid_setup_file_and_the_one_the_tests_apply() -> None:
    section = README[README.index("## Set up a municipality") :]
    opening = section.index("```toml\n") + len("```toml\n")
    example = section[opening : section.index("```\n", opening)]
    tested = (ROOT / "tests" / "e2e" / "fjellby.toml").read_text()
    assert tomllib.loads(example) == tomllib.loads(tested)
    assert parse_setup(example).tenant.slug == "fjellby"


def test_readme__documents_every_setting() -> None:
    names = [f"HALLKEY_{name.upper()}" for name in Settings.model_fields]
    assert [name for name in names if name not in README] == []
