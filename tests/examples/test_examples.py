"""Every component has a runnable example (examples/<component>/), and each previews
offline — under the runtime the stacks use — with the policy pack's rules clean."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from examples.__main__ import EXAMPLES_DIR, names, preview
from tools.policy_check import check

COMPONENTS_DIR = Path(__file__).resolve().parents[2] / "components"
COMPONENT_CLASS = re.compile(r"^class \w+\(pulumi\.ComponentResource\):", re.MULTILINE)


def component_modules() -> list[str]:
    """The modules of components/ that define a ComponentResource."""
    return sorted(
        module.stem
        for module in COMPONENTS_DIR.glob("*.py")
        if COMPONENT_CLASS.search(module.read_text())
    )


def test_every_component_has_one_example_and_a_readme_line() -> None:
    assert len(component_modules()) >= 20
    assert names() == component_modules()
    readme = (EXAMPLES_DIR / "README.md").read_text()
    for name in names():
        assert f"[`{name}`]({name}/__main__.py)" in readme, name


@pytest.mark.parametrize("name", names())
def test_the_example_previews_offline_with_no_policy_violation(name: str) -> None:
    assert f"from components.{name} import" in (EXAMPLES_DIR / name / "__main__.py").read_text()
    run = preview(name)
    components = [
        r
        for r in run.resources
        if r.type.startswith("pingvas:") and "::pulumi:pulumi:Stack::" in (r.parent or "")
    ]
    assert components, "the example registers no component"
    for component in components:
        assert any(r.parent == component.urn for r in run.resources), f"{component.name}: empty"
    assert run.outputs, "an example exports what a user would read"
    assert check(run) == []
