"""The arguments of one stack's nightly drift check (.github/workflows/drift-check.yaml):
what its refresh leaves out, from components/delivery/drift_roles.py.

    python -m tools.drift_check STACK

Prints `--exclude GLOB` pairs, one word a line; exit 2 for a stack with no drift role.
"""

from __future__ import annotations

import argparse
import sys

from components.delivery.deploy_policies import DEPLOY_SCOPES
from components.delivery.drift_roles import DriftScope, drift_scopes
from infra.config import PLATFORM_STACK


def scope_of(stack: str) -> DriftScope | None:
    return next((s for s in drift_scopes(PLATFORM_STACK, DEPLOY_SCOPES) if s.stack == stack), None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.drift_check", description=__doc__)
    parser.add_argument("stack")
    stack = parser.parse_args(argv).stack
    scope = scope_of(stack)
    if scope is None:
        print(f"{stack} has no drift role (only long-lived stacks do)", file=sys.stderr)
        return 2
    for glob in scope.excluded:
        print("--exclude")
        print(glob)
    return 0


if __name__ == "__main__":
    sys.exit(main())
