"""Issue 22, item 2: everything the platform and its controllers create carries the stack's
tags. Provider `default_tags` reach only what Pulumi creates; a controller (or EKS itself)
creating load balancers, security groups, instances, volumes, interfaces or access points
must be told the tags. The walk below covers every Helm release, EKS add-on, node class
and launch template of the offline previews: a controller it does not know fails it, so a
new one must be classified here (tagged, with where its tags are read from, or creating
nothing in AWS, with why)."""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from pulumi_offline import OfflineRun, RecordedResource
from tests.support.stacks import run_stack

RELEASE = "kubernetes:helm.sh/v3:Release"
ADDON = "aws:eks/addon:Addon"
EKS = "eks:index:Cluster"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
Tags = dict[str, str] | None


def _path(*keys: str) -> Callable[[dict[str, Any]], Tags]:
    def read(values: dict[str, Any]) -> Tags:
        for key in keys:
            if not isinstance(values, dict) or key not in values:
                return None
            values = values[key]
        return values if isinstance(values, dict) else None

    return read


def _addon(*keys: str) -> Callable[[dict[str, Any]], Tags]:
    return lambda inputs: _path(*keys)(json.loads(inputs.get("configurationValues") or "{}"))


def _eni_tags(inputs: dict[str, Any]) -> Tags:
    found = _path("vpcCniOptions", "configurationValues", "env")(inputs)
    return json.loads(found["ADDITIONAL_ENI_TAGS"]) if found else None


def _launch_template(inputs: dict[str, Any]) -> Tags:
    """The tags every kind a node launches gets: None unless all three are tagged."""
    specs = {s["resourceType"]: s["tags"] for s in inputs.get("tagSpecifications") or []}
    kinds = ("instance", "volume", "network-interface")
    if not all(kind in specs for kind in kinds):
        return None
    return {k: v for k, v in specs["instance"].items() if all(specs[x].get(k) == v for x in kinds)}


# Controllers that create AWS resources → where their tags are configured.
TAGGED: dict[tuple[str, str], Callable[[dict[str, Any]], Tags]] = {
    # Load balancers, target groups, listeners' rules and its security groups.
    (RELEASE, "aws-load-balancer-controller"): lambda inputs: _path("values", "defaultTags")(
        inputs
    ),
    # Karpenter's instances, volumes and interfaces take their EC2NodeClass's tags.
    (NODE_CLASS, "*"): lambda inputs: _path("spec", "tags")(inputs),
    (ADDON, "aws-ebs-csi-driver"): _addon("controller", "extraVolumeTags"),
    (ADDON, "aws-efs-csi-driver"): _addon("controller", "tags"),
    # The VPC CNI's interfaces (pulumi_eks installs the add-on).
    (EKS, "*"): _eni_tags,
    (LAUNCH_TEMPLATE, "*"): _launch_template,
}
# Controllers that create nothing in AWS, and why.
CREATE_NOTHING = {
    (RELEASE, "karpenter"): "its instances are the node classes' (above)",
    (RELEASE, "nvidia-device-plugin"): "GPU devices on the node",
    (RELEASE, "dcgm-exporter"): "GPU metrics",
    (RELEASE, "keda"): "scales Deployments",
    (RELEASE, "metrics-server"): "reads kubelets",
    (RELEASE, "external-secrets"): "reads secrets, creates none",
    (RELEASE, "external-dns"): "Route 53 records carry no tags (TXT ownership records)",
    (RELEASE, "fluent-bit"): "writes to a log group Pulumi made (auto_create_group Off)",
    (RELEASE, "kube-prometheus-stack"): "in-cluster only",
    (RELEASE, "chart"): "the app (./app/chart): Kubernetes objects only",
    (ADDON, "eks-pod-identity-agent"): "hands out credentials",
}


def _name(resource: RecordedResource) -> str:
    if resource.type == RELEASE:  # by chart: a chart installed twice is one controller
        return str(resource.inputs["chart"].rstrip("/").rsplit("/", 1)[-1])
    if resource.type == ADDON:
        return str(resource.inputs["addonName"])
    return "*"


def stack_tags(run: OfflineRun) -> dict[str, str]:
    """The tags the stack's AWS providers (one per region) put on what Pulumi creates."""
    (tags,) = {p.inputs["defaultTags"] for p in run.of_type("pulumi:providers:aws")}
    found: dict[str, str] = json.loads(tags)["tags"]
    assert found["stack"] == run.stack
    return found


def untagged(run: OfflineRun, resources: Iterable[RecordedResource]) -> list[str]:
    """What `resources` create without the stack's tags (or unknown controllers)."""
    expected = stack_tags(run)
    problems = []
    for resource in resources:
        if resource.type not in (RELEASE, ADDON, EKS, LAUNCH_TEMPLATE, NODE_CLASS):
            continue
        key = (resource.type, _name(resource))
        if key in CREATE_NOTHING:
            continue
        if key not in TAGGED:
            problems.append(f"{key}: unknown controller, classify it in this test")
            continue
        tags = TAGGED[key](resource.inputs) or {}
        if {k: tags.get(k) for k in expected} != expected:
            problems.append(f"{key}: tags {tags} lack the stack's {expected}")
    return problems


@pytest.mark.parametrize("stack", ["shared", "dev", "prod", "pr-7"])
def test_every_controller_tags_what_it_creates_with_its_stack(stack: str) -> None:
    run = run_stack(stack)
    assert untagged(run, run.resources) == []


def test_the_platform_classifies_every_controller_it_runs() -> None:
    """The walk is not vacuous: each tagged controller is present in the platform."""
    run = run_stack("shared")
    present = {(r.type, _name(r)) for r in run.resources}
    assert set(TAGGED) <= present


def _without(
    run: OfflineRun, kind: str, name: str, change: Callable[[dict[str, Any]], None]
) -> list[str]:
    """Control: the walk over a copy of the preview where one controller lost its tags."""
    resources = []
    for resource in run.resources:
        if resource.type == kind and _name(resource) == name:
            inputs = copy.deepcopy(resource.inputs)  # the run is shared between tests
            change(inputs)
            resource = dataclasses.replace(resource, inputs=inputs)
        resources.append(resource)
    return untagged(run, resources)


@pytest.mark.parametrize(
    ("kind", "name", "change"),
    [
        (RELEASE, "aws-load-balancer-controller", lambda i: i["values"].pop("defaultTags")),
        (NODE_CLASS, "*", lambda i: i["spec"]["tags"].pop("stack")),
        (ADDON, "aws-ebs-csi-driver", lambda i: i.pop("configurationValues")),
        (
            ADDON,
            "aws-efs-csi-driver",
            lambda i: i.update(configurationValues='{"controller": {"tags": {"stack": "dev"}}}'),
        ),
        (EKS, "*", lambda i: i["vpcCniOptions"].pop("configurationValues")),
        (LAUNCH_TEMPLATE, "*", lambda i: i["tagSpecifications"].pop()),
        (RELEASE, "external-dns", lambda i: i.update(chart="crossplane")),  # unknown
    ],
)
def test_a_controller_without_the_stacks_tags_fails_the_walk(
    kind: str, name: str, change: Callable[[dict[str, Any]], None]
) -> None:
    assert _without(run_stack("shared"), kind, name, change)


def test_the_cluster_security_group_carries_the_stacks_tags() -> None:
    """EKS creates the cluster security group; Pulumi tags it key by key."""
    run = run_stack("shared")
    expected = stack_tags(run)
    group = run.outputs["clusterSecurityGroupId"]
    tags = {
        t.inputs["key"]: t.inputs["value"]
        for t in run.of_type("aws:ec2/tag:Tag")
        if t.inputs["resourceId"] == group
    }
    assert tags == expected
