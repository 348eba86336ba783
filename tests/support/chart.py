"""The app chart rendered with the values the offline preview of each stack gives its
Helm release (so the chart is tested with the real stack outputs, not with values made
up for the test), and checkov to scan it."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from app.chart_layers import render_chart
from components.environment.app_release import RELEASE_NAME
from tests.support.preview import app_release
from tests.support.stacks import run_stack

STACKS = ("dev", "prod", "pr-7")
# The cluster's Kubernetes version (pingvas:cluster.version's default).
KUBE_VERSION = "1.35.0"
REPO = Path(__file__).resolve().parents[2]
CHECKOV_VERSION = "3.3.30"
CHECKOV_VENV = REPO / ".cache" / "checkov-venv"
# SPEC §3: the five services and their ports; §1/docs/app.md: the paths each serves.
SERVICES = {
    "user-service": (8001, ["/api/users", "/api/auth"]),
    "payment-service": (8002, ["/api/payments"]),
    "generation-service": (8003, ["/api/generations"]),
    "gallery-service": (8004, ["/api/images"]),
    "model-service": (8005, ["/api/models"]),
}


@dataclass(frozen=True)
class Render:
    stack: str
    values: dict[str, Any]  # what the release passes (the chart's values.yaml underneath)
    files: dict[str, str]  # template path → rendered YAML
    manifests: list[dict[str, Any]]

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.manifests if m["kind"] == kind]

    def one(self, kind: str, name: str) -> dict[str, Any]:
        matches = [m for m in self.of_kind(kind) if m["metadata"]["name"] == name]
        assert len(matches) == 1, f"{len(matches)} {kind} named {name}"
        return matches[0]


def outputs(stack: str) -> dict[str, Any]:
    return run_stack(stack).outputs


def release_values(stack: str) -> dict[str, Any]:
    values: dict[str, Any] = app_release(run_stack(stack)).inputs["values"]
    return values


def render(stack: str, values: dict[str, Any]) -> Render:
    files = render_chart(values, RELEASE_NAME, stack)
    manifests = [
        document
        for path, text in sorted(files.items())
        if path.endswith(".yaml")
        for document in yaml.safe_load_all(text)
        if document
    ]
    return Render(stack, values, files, manifests)


_renders: dict[str, Render] = {}


def stack_renders() -> dict[str, Render]:
    """Each of STACKS rendered with its release's values, once per test session."""
    for stack in STACKS:
        if stack not in _renders:
            _renders[stack] = render(stack, release_values(stack))
    return _renders


def checkov() -> Path:
    """checkov in its own virtual environment: it pins old packages that would break the
    project's."""
    binary = CHECKOV_VENV / "bin" / "checkov"
    if not binary.exists():
        subprocess.run([sys.executable, "-m", "venv", str(CHECKOV_VENV)], check=True)
        subprocess.run(
            [
                str(CHECKOV_VENV / "bin" / "pip"),
                "install",
                "--quiet",
                "--disable-pip-version-check",
                f"checkov=={CHECKOV_VERSION}",
            ],
            check=True,
        )
    return binary


def pod_specs(render: Render) -> dict[str, dict[str, Any]]:
    """Every pod template of the release: Deployments and the migration Job."""
    return {
        f"{m['kind']}/{m['metadata']['name']}": m["spec"]["template"]["spec"]
        for m in render.manifests
        if m["kind"] in ("Deployment", "Job")
    }


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {item["name"]: item.get("value", item.get("valueFrom")) for item in container["env"]}
