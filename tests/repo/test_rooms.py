"""Rooms by purpose (docs/architecture.md): each room imports only rooms below it.

tests/infra/test_component_layers.py holds components/ to finer rules (domains, leaves).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.imports import imported

ROOT = Path(__file__).resolve().parents[2]
ROOMS = ("infra", "pulumi_offline", "components", "stacks", "policy", "tools", "ops", "app")
# What each room must not import. tools/ sits on top and may import every room.
FORBIDDEN = {
    "pulumi_offline": set(ROOMS) - {"pulumi_offline"},
    "infra": {"app", "components", "stacks", "policy", "tools", "ops"},
    "components": {"stacks", "policy", "tools", "ops"},
    "stacks": {"policy", "tools", "ops"},
    "policy": {"stacks", "tools", "ops"},
    "ops": {"components", "stacks", "policy", "tools"},
    # The services and the worker run in images without the infrastructure's packages.
    "app": {"infra", "components", "stacks", "policy", "tools", "ops"},
}
# The chart's values model is not in the images: it layers values with the config
# library's one merge.
EXCEPTIONS = {("app/chart_layers.py", "infra.merge"), ("app/chart_values.py", "infra.merge")}


def violations(room: str) -> list[str]:
    found = []
    for path in sorted((ROOT / room).rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        for name in sorted(imported(path)):
            if name.split(".")[0] in FORBIDDEN[room] and not any(
                relative == where and name.startswith(allowed) for where, allowed in EXCEPTIONS
            ):
                found.append(f"{relative} imports {name}")
    return found


@pytest.mark.parametrize("room", sorted(FORBIDDEN))
def test_no_room_imports_a_room_above_it(room: str) -> None:
    assert violations(room) == []


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    """Control: an import of tools/ from infra/ is found."""
    module = tmp_path / "upward.py"
    module.write_text("from tools.preview import preview_stack\n")
    assert {name.split(".")[0] for name in imported(module)} & FORBIDDEN["infra"] == {"tools"}
