"""Every component has a runnable example (examples/<component>/), and each previews
offline — under the runtime the stacks use — with the policy pack's rules clean."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from examples.__main__ import EXAMPLES_DIR, names, preview
from infra.policy_check import check

COMPONENTS_DIR = Path(__file__).resolve().parents[2] / "components"
TYPE_TOKEN = re.compile(r'super\(\).__init__\(\s*"(pingvas:[^"]+)"')


def component_tokens() -> dict[str, str]:
    """Each module of components/ that defines a ComponentResource → its type token."""
    tokens = {}
    for module in sorted(COMPONENTS_DIR.glob("*.py")):
        match = TYPE_TOKEN.search(module.read_text())
        if match:
            tokens[module.stem] = match.group(1)
    return tokens


def test_every_component_has_one_example_and_a_readme_line() -> None:
    assert len(component_tokens()) >= 15
    assert names() == sorted(component_tokens())
    readme = (EXAMPLES_DIR / "README.md").read_text()
    for name in names():
        assert f"[`{name}`]({name}/__main__.py)" in readme, name


@pytest.mark.parametrize("name", names())
def test_the_example_previews_offline_with_no_policy_violation(name: str) -> None:
    run = preview(name)
    token = component_tokens()[name]
    assert [r.name for r in run.of_type(token)] == ["example"]
    assert len(run.resources) > 2  # the component built something
    assert run.outputs, "an example exports what a user would read"
    assert check(run) == []
