"""How the app chart's values are layered, in one place: `values.yaml` (every default) ←
`values-<profile>.yaml` (what sizes one kind of environment) ← the release's overrides
(what names the stack's resources), merged as Helm merges values.

The release (components/environment/app_release.py), the renderer below and the cost rules
(tools/cost/rules/compute.py) all read the chart's values through `ValuesLayers`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from app.chart_values import CHART_DIR, ChartValues, ValuesProfile
from infra.merge import deep_merge


def chart_defaults() -> dict[str, Any]:
    """`values.yaml`: every value's default."""
    defaults: dict[str, Any] = yaml.safe_load((CHART_DIR / "values.yaml").read_text())
    return defaults


def profile_values(profile: ValuesProfile) -> dict[str, Any]:
    """`values-<profile>.yaml`: only what departs from the defaults for that kind of
    environment (tests/infra/test_single_source.py holds it to that)."""
    values: dict[str, Any] = (
        yaml.safe_load((CHART_DIR / f"values-{profile}.yaml").read_text()) or {}
    )
    return values


@dataclass(frozen=True)
class ValuesLayers:
    """The layers over `values.yaml`. Without a profile, `overrides` are a release's values
    as Helm was handed them (their profile's file already merged in)."""

    overrides: Mapping[str, Any] = field(default_factory=dict)
    profile: ValuesProfile | None = None

    def release_values(self) -> dict[str, Any]:
        """What a release hands Helm, which puts `values.yaml` underneath itself."""
        profile = {} if self.profile is None else profile_values(self.profile)
        return deep_merge(profile, self.overrides)

    def effective(self) -> dict[str, Any]:
        """What the templates read."""
        return deep_merge(chart_defaults(), self.release_values())

    def validated(self) -> ChartValues:
        """The effective values in the model; a wrong one raises `pydantic.ValidationError`
        naming its values.yaml path, as Helm's schema check would refuse it."""
        return ChartValues.model_validate(self.effective())


def render_chart(values: Mapping[str, Any], release: str, namespace: str) -> dict[str, str]:
    """The chart rendered by the Helm engine (helm-python-sdk, in the `dev` extra) with a
    release's `values`, as `helm install` would: template path → YAML."""
    import helm_python  # only the tests and tools/generate/chart_manifests.py render

    files: dict[str, str] = helm_python.Chart.load(str(CHART_DIR)).render(
        ValuesLayers(values).effective(), name=release, namespace=namespace, is_install=True
    )
    return files
