"""The tools run the committed stacks as tests/infra does."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pulumi_offline import OfflineRun
from tests.support.stacks import stack_runner


@pytest.fixture
def stack_with(tmp_path: Path) -> Callable[[str, dict[str, Any]], OfflineRun]:
    return stack_runner(tmp_path)
