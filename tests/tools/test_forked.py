"""tools.forked's cases (tests/tools/forked_cases.py), in a process of their own: forking
needs a process where no other thread is alive, and a test worker that ran other tests
(servers, Pulumi runs) may hold some."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_forked_steps_in_a_fresh_process() -> None:
    cases = "tests/tools/forked_cases.py"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", "-p", "no:randomly", cases],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 passed" in result.stdout, result.stdout
