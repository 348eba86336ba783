"""The app chart rendered once per session for dev, prod and pr-7 (tests/support/chart.py)."""

from __future__ import annotations

import pytest

from tests.support.chart import Render, stack_renders


@pytest.fixture(scope="session")
def renders() -> dict[str, Render]:
    return stack_renders()
