"""Entry point of `pulumi up` / `pulumi preview` (Pulumi.yaml: `main: stacks/`)."""

import sys
from pathlib import Path

# Pulumi runs this directory as a script from inside it, with the directory first on sys.path,
# where `platform.py` would stand in for the standard library's module: the repository's root
# takes its place, so that every package imports by its full name.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(_HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import pulumi  # noqa: E402

from infra.config import ConfigError  # noqa: E402
from stacks.program import config_from_runtime, run  # noqa: E402

try:
    stack_config = config_from_runtime()
except ConfigError as error:
    # RunError ends the program with this message alone, no traceback.
    raise pulumi.RunError(f"invalid stack configuration:\n{error}") from None
run(stack_config)
