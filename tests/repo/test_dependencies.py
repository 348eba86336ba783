"""Each job installs only what it runs, pinned by the lock file of its extra
(docs/dependencies.md)."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support.imports import imported

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
EXTRAS = ("infra", "app", "worker", "dev")
ML_PACKAGES = {"torch", "diffusers", "transformers", "accelerate", "safetensors", "tokenizers"}
APP_PACKAGES = {"fastapi", "uvicorn", "sqlalchemy", "alembic", "psycopg", "redis", "authlib"}
INFRA_PACKAGES = {"pulumi", "pulumi-aws", "pulumi-eks", "pulumi-kubernetes", "pulumi-policy"}
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)", re.MULTILINE)


def locked(extra: str) -> dict[str, str]:
    """requirements/<extra>.txt as {canonical name: pinned version}."""
    text = (ROOT / "requirements" / f"{extra}.txt").read_text()
    return {canonicalize_name(name): version for name, version in PIN.findall(text)}


def declared(extra: str) -> list[Requirement]:
    """The base dependencies and the extra's, self-references (`pingvas[app]`) expanded."""
    found = [Requirement(text) for text in PYPROJECT["dependencies"]]
    pending, seen = [extra], set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        for requirement in map(Requirement, PYPROJECT["optional-dependencies"][name]):
            if canonicalize_name(requirement.name) == "pingvas":
                pending.extend(requirement.extras)
            else:
                found.append(requirement)
    return found


def extras_installed_by(target: str, tmp_path: Path) -> set[str]:
    """The extras `make TARGET` installs on a fresh machine (make's dry run)."""
    commands = subprocess.run(
        ["make", "-n", "-B", target, f"VENV={tmp_path / 'venv'}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return set(re.findall(r"-e '\.\[([a-z,]+)\]'", commands))


def test_make_preview_installs_the_infrastructure_only(tmp_path: Path) -> None:
    assert extras_installed_by("preview", tmp_path) == {"infra"}
    packages = set(locked("infra"))
    assert packages >= INFRA_PACKAGES
    assert not packages & ML_PACKAGES, "make preview would install an ML package"
    assert not packages & APP_PACKAGES, "make preview would install the application"


def test_make_test_installs_everything(tmp_path: Path) -> None:
    assert extras_installed_by("test", tmp_path) == {"dev"}
    assert set(locked("dev")) >= ML_PACKAGES | APP_PACKAGES | INFRA_PACKAGES


def third_party_packages(folder: str) -> set[str]:
    """The distributions the modules under `folder` import (stdlib and the project's own
    packages left out), as the running environment maps import names to them."""
    distributions = importlib.metadata.packages_distributions()
    own = {path.name for path in ROOT.iterdir() if (path / "__init__.py").exists()}
    found: set[str] = set()
    for path in (ROOT / folder).rglob("*.py"):
        for name in imported(path):
            top = name.split(".")[0]
            if top in sys.stdlib_module_names or top in own or top == "__future__":
                continue
            found.update(canonicalize_name(d) for d in distributions.get(top, [top]))
    return found


def test_the_restore_scripts_run_from_make_setup(tmp_path: Path) -> None:
    """The runbooks run `.venv/bin/python -m ops.restore` from the install `make setup`
    makes (the one the Pulumi CLI uses): whatever the scripts import, it pins."""
    assert extras_installed_by("setup", tmp_path) == {"infra"}
    needed = third_party_packages("ops")
    assert "boto3" in needed
    assert needed <= set(locked("infra")), (
        f"not in the infra extra: {needed - set(locked('infra'))}"
    )
    # Control: the application's imports are not all there, so the check can fail.
    assert third_party_packages("app") - set(locked("infra")) >= {"fastapi", "redis"}


def test_the_api_installs_without_the_worker_or_pulumi() -> None:
    packages = set(locked("app"))
    assert packages >= APP_PACKAGES
    assert not packages & ML_PACKAGES
    assert not packages & INFRA_PACKAGES
    assert set(locked("worker")) >= ML_PACKAGES | APP_PACKAGES


@pytest.mark.parametrize("extra", EXTRAS)
def test_every_declared_range_has_a_matching_pin(extra: str) -> None:
    """Fails when pyproject.toml changed and `make lock` was not run."""
    pins = locked(extra)
    for requirement in declared(extra):
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement} is not in requirements/{extra}.txt: run make lock"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"requirements/{extra}.txt pins {name}=={pins[name]}, outside {requirement}"
        )


@pytest.mark.parametrize("extra", ["infra", "app", "worker"])
def test_one_version_per_package_across_jobs(extra: str) -> None:
    dev = locked("dev")
    for name, version in locked(extra).items():
        assert dev.get(name) == version, f"{name}: {extra} pins {version}, dev {dev.get(name)}"


@pytest.mark.parametrize("extra", EXTRAS)
def test_lock_files_name_no_local_path(extra: str) -> None:
    """Any machine, and the image builds, install from them."""
    text = (ROOT / "requirements" / f"{extra}.txt").read_text()
    assert "file://" not in text
    assert not re.search(r"^pingvas\b", text, re.MULTILINE)


def test_torch_is_pinned_by_release_so_the_index_picks_the_build() -> None:
    assert locked("worker")["torch"] == locked("dev")["torch"]
    assert "+" not in locked("worker")["torch"]


@pytest.mark.parametrize(
    ("dockerfile", "extra"), [("Dockerfile.api", "app"), ("Dockerfile.worker", "worker")]
)
def test_images_install_from_their_lock_file(dockerfile: str, extra: str) -> None:
    text = (ROOT / dockerfile).read_text()
    assert f"COPY requirements/{extra}.txt requirements.txt" in text
    assert re.search(r"pip install [^\n]*-r requirements\.txt", text)
    assert "pyproject.toml" not in text.split("FROM")[1], "the image resolves from the lock alone"


def test_pulumi_install_takes_the_infrastructure_lock() -> None:
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    assert "-c requirements/infra.txt" in lines
    assert "-e .[infra]" in lines
