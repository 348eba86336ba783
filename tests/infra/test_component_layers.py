"""components/ is grouped by domain (DESIGN §1): domains share conventions through leaf
modules, never by reaching into each other, and no component knows a stack.

Read from the source with `ast`, so an import inside a function counts too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.imports import imported

ROOT = Path(__file__).resolve().parents[2]
COMPONENTS = ROOT / "components"
# Leaves every domain may import; they import no other component.
LEAVES = frozenset(
    {
        "components.conventions",  # labels, taints, ports, priority classes, pod security
        "components.iam",  # policy documents, trust policies, Pod Identity roles
        "components.chart_versions",  # the pinned Helm charts
        "components.endpoints",  # the typed data endpoints the data domain hands on
        "components.immutable",  # fields the API server refuses to update: replaced instead
    }
)
DOMAINS = ("network", "cluster", "data", "edge", "operations", "delivery", "environment")
# The only imports across domains: module → what it may import from another domain.
# The External Secrets store is each namespace's door to Secrets Manager: every domain that
# puts a secret into a namespace makes one.
ACROSS_DOMAINS = {
    "components.data.schema_owners": {"components.cluster.secret_store"},
    "components.environment.tenancy": {"components.cluster.secret_store"},
    "components.operations.monitoring": {"components.cluster.secret_store"},
}
# Rooms above components/: a component takes what it needs as arguments.
ROOMS_ABOVE = ("stacks", "tools", "ops", "policy")
# Of the config library below them, components use only the values merge: the stack's
# config, names and profiles reach a component as typed arguments.
INFRA_ALLOWED = ("infra.merge",)


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(package: Path) -> dict[str, set[str]]:
    return {module_name(path): imported(path) for path in sorted(package.rglob("*.py"))}


COMPONENT_MODULES = modules(COMPONENTS)


def component_imports(name: str) -> set[str]:
    """The components modules `name` imports (package names left out)."""
    return {
        target
        for target in COMPONENT_MODULES[name]
        if target in COMPONENT_MODULES and target != "components" and target != name
    }


def domain_of(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if len(parts) > 2 and parts[1] in DOMAINS else None


def test_every_component_module_is_a_leaf_or_in_a_domain() -> None:
    loose = [
        name
        for name in COMPONENT_MODULES
        if name != "components" and name not in LEAVES and domain_of(name) is None
        if name.removeprefix("components.") not in DOMAINS
    ]
    assert loose == [], f"put these in a domain package or declare them leaves: {loose}"


@pytest.mark.parametrize("leaf", sorted(LEAVES))
def test_leaves_import_no_other_component(leaf: str) -> None:
    assert component_imports(leaf) == set()


def test_domains_import_each_other_only_where_allowed() -> None:
    crossings = {
        (name, target)
        for name in COMPONENT_MODULES
        for target in component_imports(name)
        if domain_of(name) is not None
        and target not in LEAVES
        and domain_of(target) not in (None, domain_of(name))
        and target not in ACROSS_DOMAINS.get(name, set())
    }
    assert crossings == set(), "import a leaf (components/conventions.py, iam.py) instead"


def test_the_allowed_crossings_are_all_used() -> None:
    unused = {
        (name, target)
        for name, targets in ACROSS_DOMAINS.items()
        for target in targets
        if target not in component_imports(name)
    }
    assert unused == set()


def test_components_import_no_room_above_them() -> None:
    above = {
        (name, target)
        for name, targets in COMPONENT_MODULES.items()
        for target in targets
        if target.split(".")[0] in ROOMS_ABOVE
        or (target.split(".")[0] == "infra" and not target.startswith(INFRA_ALLOWED))
    }
    assert above == set(), "take it as a typed *Args field; the caller in stacks/ translates"


def test_components_have_no_import_cycle() -> None:
    def visit(name: str, path: tuple[str, ...]) -> None:
        for target in sorted(component_imports(name)):
            assert target not in path, f"import cycle: {' -> '.join((*path, target))}"
            visit(target, (*path, target))

    for name in COMPONENT_MODULES:
        visit(name, (name,))


def test_infra_imports_no_component() -> None:
    """infra/ is the lowest room: the typed config, naming and tagging."""
    found = {
        (name, target)
        for name, targets in modules(ROOT / "infra").items()
        for target in targets
        if target.split(".")[0] == "components"
    }
    assert found == set()


def _dataclasses(tree: ast.Module) -> Iterator[ast.ClassDef]:
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and any(
            "dataclass" in ast.unparse(decorator) for decorator in node.decorator_list
        ):
            yield node


def test_providers_travel_in_resource_options_not_in_args() -> None:
    """As pulumi-eks: a component gets its providers through `opts.providers` and its
    children inherit them (`parent=self`); no argument class carries one."""
    carried = {
        f"{path.relative_to(ROOT)}:{node.name}.{field.target.id}"
        for path in COMPONENTS.rglob("*.py")
        for node in _dataclasses(ast.parse(path.read_text()))
        for field in node.body
        if isinstance(field, ast.AnnAssign)
        and isinstance(field.target, ast.Name)
        and ast.unparse(field.annotation).endswith("Provider")
    }
    assert carried == set()


def test_arns_take_the_partition_from_the_provider() -> None:
    """An ARN written with `aws` would be wrong in China and GovCloud: components and
    stacks build ARNs with components/iam.py's `arn` (documents built inside an apply, with
    `arn:{partition}:`), from the provider's partition."""
    paths = [*COMPONENTS.rglob("*.py"), *(ROOT / "stacks").rglob("*.py")]
    literal = {
        str(path.relative_to(ROOT))
        for path in paths
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        if "arn:aws:" in node.value
    }
    assert literal == set()
