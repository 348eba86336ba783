"""Every accepted parliament finding that names its proving test names one that exists."""

from __future__ import annotations

import ast
from pathlib import Path

from tools.iam_lint import ESCALATION, load_accepted

ROOT = Path(__file__).resolve().parents[2]


def test_every_accepted_escalation_names_a_test_that_exists() -> None:
    for entry in load_accepted():
        if entry.issue in ESCALATION:
            assert entry.test, entry
        if entry.test is None:
            continue
        path, _, name = entry.test.partition("::")
        module = ast.parse((ROOT / path).read_text())
        names = {n.name for n in module.body if isinstance(n, ast.FunctionDef)}
        assert name in names, f"{entry.resource}: {entry.test} does not exist"
