"""Graviton alongside x86 on the general and preview pools (decision 0116): Karpenter's
own CRD and CEL rules admit the pools, the GPU pools stay x86 for the worker image, and
everything that can run on those nodes is published for arm64 (components/cluster/
arm64.py); the images workflow's side is tests/repo/test_workflows.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from components.cluster import arm64
from components.cluster.system_capacity import DAEMONSETS
from components.conventions import GPU_LABEL, SYSTEM_LABEL
from pulumi_offline import OfflineRun
from tests.support.crds import crd_errors
from tests.support.preview import custom_resource
from tests.support.stacks import run_stack, stack_runner

NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
ARCH = "kubernetes.io/arch"
WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod")


def pools(run: OfflineRun) -> dict[str, dict[str, Any]]:
    return {p.inputs["metadata"]["name"]: custom_resource(p) for p in run.of_type(NODE_POOL)}


def architectures(pool: dict[str, Any]) -> list[str]:
    (values,) = [
        r["values"] for r in pool["spec"]["template"]["spec"]["requirements"] if r["key"] == ARCH
    ]
    return list(values)


def test_the_general_and_preview_pools_allow_x86_and_graviton_and_karpenter_admits_them() -> None:
    found = pools(run_stack("shared"))
    for name in ("general", "preview"):
        assert architectures(found[name]) == ["amd64", "arm64"], name
        assert crd_errors(found[name]) == [], name  # the NodePool CRD's schema and CEL


def test_karpenter_refuses_an_architecture_requirement_without_values() -> None:
    pool = pools(run_stack("shared"))["general"]
    for requirement in pool["spec"]["template"]["spec"]["requirements"]:
        if requirement["key"] == ARCH:
            requirement["values"] = []
    assert crd_errors(pool) != []  # the rules are live: an In with no value is refused


def test_gpu_pools_stay_x86_for_the_worker_image() -> None:
    gpu = {
        n: p for n, p in pools(run_stack("shared")).items() if n.startswith(("gpu", "preview-gpu"))
    }
    assert gpu
    for name, pool in gpu.items():
        assert architectures(pool) == ["amd64"], name


def test_an_x86_only_platform_keeps_the_general_pool_on_amd64(tmp_path: Path) -> None:
    run = stack_runner(tmp_path)(
        "shared", {"pingvas:cluster": {"generalNodePool": {"architectures": ["amd64"]}}}
    )
    found = pools(run)
    assert architectures(found["general"]) == ["amd64"]
    assert architectures(found["preview"]) == ["amd64"]


def test_every_daemonset_on_the_general_pool_is_published_for_arm64() -> None:
    names = [pods.name for pods in DAEMONSETS]
    assert arm64.without_evidence(names, arm64.DAEMONSETS) == []
    assert arm64.without_evidence(["coredns"], arm64.ADDON_DEPLOYMENTS) == []


def unpinned_images(run: OfflineRun) -> set[str]:
    """Images of the pods a stack creates that no nodeSelector keeps on the system or GPU
    nodes (Helm releases' pods are the DaemonSets above or pinned to the system nodes)."""
    images: set[str] = set()
    for resource in run.resources:
        if not resource.type.startswith("kubernetes:"):
            continue
        if resource.type.rsplit(":", 1)[1] not in WORKLOADS:
            continue
        spec = resource.inputs.get("spec", {})
        template = spec.get("jobTemplate", {}).get("spec", spec).get("template", {})
        pod = template.get("spec", spec)
        selector = pod.get("nodeSelector") or {}
        if SYSTEM_LABEL.items() <= selector.items() or GPU_LABEL.items() <= selector.items():
            continue
        containers = [*pod.get("containers", []), *pod.get("initContainers", [])]
        images.update(container["image"] for container in containers)
    return images


@pytest.mark.parametrize("stack", ["dev", "pr-7", "prod", "shared"])
def test_every_image_the_stacks_run_off_the_system_and_gpu_nodes_is_published_for_arm64(
    stack: str,
) -> None:
    assert arm64.without_evidence(unpinned_images(run_stack(stack)), arm64.IMAGES) == []


def test_an_image_without_an_arm64_source_is_named() -> None:
    assert unpinned_images(run_stack("shared"))  # the bootstrap Job: the check sees pods
    unknown = ["example.com/x86-only:1", "postgres:16.8-alpine"]
    assert arm64.without_evidence(unknown, arm64.IMAGES) == ["example.com/x86-only:1"]
