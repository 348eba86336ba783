"""What kind of stack this is gets decided in one place (infra/config/profiles.py): no
other module compares a stack's name with a stack name or tests it against the
ephemeral pattern (issue 21)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("infra", "stacks", "components", "policy", "tools", "ops", "scripts")
# The one place that decides, and the name syntax check beside the pattern's definition.
DECIDERS = frozenset({ROOT / "infra/config/profiles.py", ROOT / "infra/stack_names.py"})
STACK_NAMES = frozenset({"shared", "dev", "prod", "staging"})
EPHEMERAL_PREFIX = "pr-"


def _is_stack_literal(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value in STACK_NAMES or node.value.startswith(EPHEMERAL_PREFIX)
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return any(_is_stack_literal(element) for element in node.elts)
    return False


def _findings(tree: ast.AST) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            if any(_is_stack_literal(side) for side in [node.left, *node.comparators]):
                yield node.lineno, ast.unparse(node)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            method, target = node.func.attr, node.func.value
            if method in ("startswith", "endswith") and any(map(_is_stack_literal, node.args)):
                yield node.lineno, ast.unparse(node)
            if method in ("match", "fullmatch", "search") and "EPHEMERAL" in ast.unparse(target):
                yield node.lineno, ast.unparse(node)


def test_no_module_compares_stack_names_outside_the_profiles() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}: {code}"
        for room in SCANNED
        for path in sorted((ROOT / room).rglob("*.py"))
        if path not in DECIDERS
        for line, code in _findings(ast.parse(path.read_text(), str(path)))
    ]
    assert found == [], "decide from the stack's kind (StackConfig.kind) instead:\n" + "\n".join(
        found
    )


def test_the_scan_sees_each_kind_of_comparison() -> None:
    sources = [
        'stack == "prod"',
        'stack in ("dev", "prod")',
        'name.startswith("pr-")',
        "EPHEMERAL_STACK.match(stack)",
    ]
    for source in sources:
        assert list(_findings(ast.parse(source))), source
    assert not list(_findings(ast.parse('kind.profile is Profile.PROD and mode == "in-cluster"')))
