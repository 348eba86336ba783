"""The committed stacks, run offline (tests/support/stacks.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pulumi_offline import OfflineRun
from tests.support.stacks import run_stack, stack_runner


@pytest.fixture
def stack_with(tmp_path: Path) -> Callable[[str, dict[str, Any]], OfflineRun]:
    return stack_runner(tmp_path)


@pytest.fixture(scope="session")
def shared() -> OfflineRun:
    return run_stack("shared")
