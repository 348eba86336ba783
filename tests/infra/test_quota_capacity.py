"""Quota during rollouts (issue 23, item 3): in every environment's namespace, the workloads
at their maximum scale plus a release's one-off pods and rollout surge (requests after the
LimitRange's defaults) fit the namespace's ResourceQuota, so no rollout stalls on a refused
pod. The release is the chart rendered with the values each preview sends."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from app.chart_capacity import (
    limit_range_defaults,
    over_quota,
    peak_usage,
    quantity,
    surge,
)
from pulumi_offline import OfflineRun
from tests.support.chart import stack_renders
from tests.support.stacks import run_stack

STACKS = ["dev", "prod", "pr-7"]
WORKLOAD_TYPES = ("kubernetes:apps/v1:StatefulSet", "kubernetes:apps/v1:Deployment")


def quota(run: OfflineRun) -> dict[str, str]:
    (found,) = [
        r
        for r in run.of_type("kubernetes:core/v1:ResourceQuota")
        if "scopeSelector" not in r.inputs["spec"]
    ]
    hard: dict[str, str] = found.inputs["spec"]["hard"]
    return hard


def namespace_manifests(stack: str) -> list[dict[str, Any]]:
    """The release's objects and the workloads the stack itself runs in the namespace."""
    run = run_stack(stack)
    own = [copy.deepcopy(r.inputs) for t in WORKLOAD_TYPES for r in run.of_type(t)]
    return [*copy.deepcopy(stack_renders()[stack].manifests), *own]


def defaults(stack: str) -> dict[str, Any]:
    (limit_range,) = run_stack(stack).of_type("kubernetes:core/v1:LimitRange")
    return limit_range_defaults(limit_range.inputs["spec"])


@pytest.mark.parametrize("stack", STACKS)
def test_maximum_scale_and_a_rollout_fit_the_quota(stack: str) -> None:
    usage = peak_usage(namespace_manifests(stack), defaults(stack))
    assert over_quota(usage, quota(run_stack(stack))) == []


@pytest.mark.parametrize("stack", STACKS)
def test_the_gpu_worker_rolls_without_a_gpu_beyond_keda_maximum(stack: str) -> None:
    """KEDA's maximum may take the whole GPU quota, so the worker replaces a pod (its
    job goes back to the stream on SIGTERM) instead of surging one."""
    manifests = namespace_manifests(stack)
    (worker,) = [
        m for m in manifests if m["kind"] == "Deployment" and m["metadata"]["name"] == "gpu-worker"
    ]
    (scaler,) = [m for m in manifests if m["kind"] == "ScaledObject"]
    maximum = scaler["spec"]["maxReplicaCount"]
    assert surge(worker["spec"]["strategy"], maximum) == 0
    assert maximum <= quantity(quota(run_stack(stack))["requests.nvidia.com/gpu"])


def test_a_surging_gpu_worker_at_maximum_scale_is_over_quota() -> None:
    """The strategy before the fix (maxSurge 1) needs GPU quota + 1 at KEDA's maximum."""
    manifests = namespace_manifests("dev")
    for manifest in manifests:
        if manifest["kind"] == "Deployment" and manifest["metadata"]["name"] == "gpu-worker":
            manifest["spec"]["strategy"]["rollingUpdate"] = {"maxSurge": 1, "maxUnavailable": 0}
    usage = peak_usage(manifests, defaults("dev"))
    assert over_quota(usage, quota(run_stack("dev"))) == ["requests.nvidia.com/gpu: 4 > 3"]


def test_limit_range_defaults_count_for_a_container_without_requests() -> None:
    bare = {"kind": "Pod", "metadata": {"name": "bare"}, "spec": {"containers": [{"name": "c"}]}}
    usage = peak_usage([bare], defaults("pr-7"))
    assert usage.requests == {"cpu": quantity("100m"), "memory": quantity("128Mi")}
    assert over_quota(usage.times(31), quota(run_stack("pr-7")))[-1] == "pods: 31 > 30"
