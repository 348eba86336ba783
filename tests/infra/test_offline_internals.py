"""The offline runtime leans on Pulumi SDK internals: a move must fail loudly, by name."""

from __future__ import annotations

import importlib
import re
import tomllib
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from pulumi_offline import internals

REPO = Path(__file__).resolve().parents[2]


def pulumi_requirement() -> Requirement:
    # The infrastructure's extra holds the Pulumi SDKs (docs/dependencies.md).
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    infra = project["optional-dependencies"]["infra"]
    (requirement,) = [Requirement(spec) for spec in infra if Requirement(spec).name == "pulumi"]
    return requirement


def test_pyproject_pins_the_sdk_to_the_installed_minor_release() -> None:
    installed = Version(version("pulumi"))
    allowed = pulumi_requirement().specifier
    assert allowed.contains(installed), f"pulumi {installed} is outside {allowed}"
    next_minor = Version(f"{installed.major}.{installed.minor + 1}.0")
    previous_minor = Version(f"{installed.major}.{installed.minor - 1}.0")
    assert not allowed.contains(next_minor), f"{allowed} lets in pulumi {next_minor} unchecked"
    assert not allowed.contains(previous_minor), f"{allowed} lets in pulumi {previous_minor}"


@pytest.fixture
def sdk(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """The SDK, to break for one test; restored, and the internals resolved again, after."""
    yield monkeypatch
    monkeypatch.undo()
    importlib.reload(internals)


@pytest.mark.parametrize("path", sorted(internals.INTERNALS.values()))
def test_an_internal_that_moves_fails_the_import_naming_it(
    path: str, sdk: pytest.MonkeyPatch
) -> None:
    module_name, _, name = path.rpartition(".")
    sdk.delattr(importlib.import_module(module_name), name)
    with pytest.raises(ImportError, match=rf"moved or removed .*{re.escape(path)}"):
        importlib.reload(internals)


def test_only_the_internals_module_touches_sdk_internals() -> None:
    """Else a move would surface as a hang or a wrong preview, not as the import error."""
    modules = {path.rpartition(".")[0].rsplit(".", 1)[-1] for path in internals.INTERNALS.values()}
    private = {
        name for path in internals.INTERNALS.values() if (name := path.rsplit(".", 1)[-1])[0] == "_"
    }
    pattern = re.compile(
        rf"\b({'|'.join(sorted(private))})\b"
        rf"|pulumi\.runtime\.({'|'.join(sorted(modules))})\b"
        rf"|from pulumi\.runtime import [^\n]*\b({'|'.join(sorted(modules))})\b"
    )
    allowed = {REPO / "pulumi_offline" / "internals.py", Path(__file__).resolve()}
    offenders = [
        f"{source.relative_to(REPO)}: {match.group(0)}"
        for folder in (
            "infra",
            "stacks",
            "components",
            "policy",
            "pulumi_offline",
            "examples",
            "tests",
        )
        for source in sorted((REPO / folder).rglob("*.py"))
        if source not in allowed
        for match in pattern.finditer(source.read_text())
    ]
    assert offenders == []
