"""`hallkey apply`: brings a municipality's set-up to what a TOML file describes, through the
three contexts' HTTP APIs (operator keys), idempotently."""

from hallkey.apply.engine import apply_setup
from hallkey.apply.errors import ApplyError
from hallkey.apply.file import SetupFile, SetupFileError, load_setup_file, parse_setup
from hallkey.apply.run import Endpoint, Outcome

__all__ = [
    "ApplyError",
    "Endpoint",
    "Outcome",
    "SetupFile",
    "SetupFileError",
    "apply_setup",
    "load_setup_file",
    "parse_setup",
]
