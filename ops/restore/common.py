"""What every restore shares: the stack's outputs, waiting with progress, and failing with
a message a person at 3 AM can act on."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO


class RestoreError(Exception):
    """Nothing to restore from, or the restore failed: the message says what to do."""


def stack_outputs(stack: str, outputs_file: Path | None = None) -> dict[str, Any]:
    """The stack's outputs: from `outputs_file` (JSON, as `pulumi stack output --json`
    prints) or from the Pulumi CLI."""
    if outputs_file is not None:
        return dict(json.loads(outputs_file.read_text()))
    result = subprocess.run(  # noqa: S603 (a fixed command; the stack name is an argument)
        ["pulumi", "stack", "output", "--json", "--stack", stack],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RestoreError(f"cannot read the outputs of stack {stack}: {result.stderr.strip()}")
    return dict(json.loads(result.stdout))


def require(outputs: Mapping[str, Any], key: str) -> Any:
    if key not in outputs:
        raise RestoreError(f"the stack exports no {key!r}: is this the right stack?")
    return outputs[key]


@dataclass
class Plan:
    """What a restore will do, printed before it does it (and alone with --dry-run)."""

    title: str
    steps: list[str] = field(default_factory=list)
    next_steps: list[str] = field(default_factory=list)

    def show(self, out: TextIO) -> None:
        print(f"== {self.title}", file=out)
        for number, step in enumerate(self.steps, 1):
            print(f"  {number}. {step}", file=out)

    def show_next(self, out: TextIO) -> None:
        print("Next:", file=out)
        for step in self.next_steps:
            print(f"  - {step}", file=out)


@dataclass
class Waiter:
    """Polls until a resource is ready, printing its state as it changes."""

    out: TextIO = sys.stdout
    interval_seconds: float = 30
    timeout_seconds: float = 4 * 3600  # SPEC §9's longest RTO
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic

    def until(self, what: str, status: Callable[[], str], ready: set[str], failed: set[str]) -> str:
        started = self.clock()
        last = ""
        while True:
            state = status()
            elapsed = int(self.clock() - started)
            if state != last:
                print(f"  [{elapsed // 60:3d}m{elapsed % 60:02d}s] {what}: {state}", file=self.out)
                last = state
            if state in ready:
                return state
            if state in failed:
                raise RestoreError(f"{what} ended {state}")
            if elapsed > self.timeout_seconds:
                raise RestoreError(f"{what} not ready after {elapsed}s (last state {state})")
            self.sleep(self.interval_seconds)
