"""Every component has a runnable example (examples/<name>/, its module named in the
README), and each previews offline — under the runtime the stacks use — with the policy
pack's rules clean."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from examples.__main__ import EXAMPLES_DIR, names, preview
from tools.policy_check import check

COMPONENTS_DIR = Path(__file__).resolve().parents[2] / "components"
COMPONENT_CLASS = re.compile(r"^class \w+\(pulumi\.ComponentResource\):", re.MULTILINE)
# A README row: the example, then the module of components/ it shows.
README_ROW = re.compile(
    r"^\| \[`(?P<name>\w+)`\]\((?P=name)/__main__\.py\) "
    r"\| \[`(?P<module>[\w/]+)`\]\(\.\./components/(?P=module)\.py\) \|",
    re.MULTILINE,
)


def component_modules() -> list[str]:
    """The modules of components/ that define a ComponentResource, as `<domain>/<module>`."""
    return sorted(
        module.relative_to(COMPONENTS_DIR).with_suffix("").as_posix()
        for module in COMPONENTS_DIR.rglob("*.py")
        if COMPONENT_CLASS.search(module.read_text())
    )


def readme_rows() -> dict[str, str]:
    """Example → the module it shows, from examples/README.md."""
    readme = (EXAMPLES_DIR / "README.md").read_text()
    return {row["name"]: row["module"] for row in README_ROW.finditer(readme)}


def test_every_component_has_one_example_and_a_readme_line() -> None:
    assert len(component_modules()) >= 20
    rows = readme_rows()
    assert sorted(rows) == names()
    assert sorted(rows.values()) == component_modules()


@pytest.mark.parametrize("name", names())
def test_the_example_previews_offline_with_no_policy_violation(name: str) -> None:
    module = readme_rows()[name].replace("/", ".")
    assert f"from components.{module} import" in (EXAMPLES_DIR / name / "__main__.py").read_text()
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
