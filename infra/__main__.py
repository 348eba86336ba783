"""Entry point of `pulumi up` / `pulumi preview` (Pulumi.yaml: `main: infra/`)."""

import sys
from pathlib import Path

# Pulumi runs this directory as a script; make the repository's packages importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pulumi

from infra.config import ConfigError
from infra.program import config_from_runtime, run

try:
    stack_config = config_from_runtime()
except ConfigError as error:
    # RunError ends the program with this message alone, no traceback.
    raise pulumi.RunError(f"invalid stack configuration:\n{error}") from None
run(stack_config)
