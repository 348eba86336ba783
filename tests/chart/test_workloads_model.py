"""app/chart_workloads.py describes the chart's pods from its values alone (for the
config check, which cannot run Helm): every field it gives equals the chart as Helm renders
it for each preview, and the quota arithmetic over both gives the same peak."""

from __future__ import annotations

from typing import Any

import pytest

from app.chart_capacity import CONTAINER_DEFAULT_REQUEST, peak_usage
from app.chart_layers import ValuesLayers
from app.chart_workloads import release_workloads
from tests.support.chart import stack_renders

STACKS = ["dev", "prod", "pr-7"]
POD_MAKERS = ("Deployment", "StatefulSet", "Job", "Pod", "HorizontalPodAutoscaler", "ScaledObject")


def within(model: Any, rendered: Any, path: str = "") -> list[str]:
    """Where `model` is not a part of `rendered` (containers matched by position)."""
    if isinstance(model, dict):
        if not isinstance(rendered, dict):
            return [path]
        return [
            p
            for key, value in model.items()
            for p in within(value, rendered.get(key), f"{path}.{key}")
        ]
    if isinstance(model, list):
        if not isinstance(rendered, list) or len(model) != len(rendered):
            return [path]
        return [
            p
            for i, (a, b) in enumerate(zip(model, rendered, strict=True))
            for p in within(a, b, f"{path}[{i}]")
        ]
    return [] if str(model) == str(rendered) else [f"{path}: {model!r} != {rendered!r}"]


@pytest.mark.parametrize("stack", STACKS)
def test_the_model_gives_the_rendered_chart_pods(stack: str) -> None:
    render = stack_renders()[stack]
    modelled = release_workloads(ValuesLayers(render.values).validated())
    rendered = {
        (m["kind"], m["metadata"]["name"]): m for m in render.manifests if m["kind"] in POD_MAKERS
    }
    assert {(m["kind"], m["metadata"]["name"]) for m in modelled} == set(rendered)
    for manifest in modelled:
        key = (manifest["kind"], manifest["metadata"]["name"])
        assert within(manifest, rendered[key]) == [], key
    assert peak_usage(modelled, CONTAINER_DEFAULT_REQUEST) == peak_usage(
        render.manifests, CONTAINER_DEFAULT_REQUEST
    )


def test_a_drifted_field_is_seen() -> None:
    render = stack_renders()["dev"]
    (worker,) = [
        m
        for m in release_workloads(ValuesLayers(render.values).validated())
        if m["kind"] == "Deployment" and m["metadata"]["name"] == "gpu-worker"
    ]
    (rendered,) = [m for m in render.of_kind("Deployment") if m["metadata"]["name"] == "gpu-worker"]
    worker["spec"]["strategy"]["rollingUpdate"]["maxSurge"] = 1
    assert within(worker, rendered) == [".spec.strategy.rollingUpdate.maxSurge: 1 != 0"]
