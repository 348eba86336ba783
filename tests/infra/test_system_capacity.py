"""System nodes are not full (issue 23, item 3): the pods pinned to the system node group
and a DaemonSet pod a node fit, by the VPC CNI's ENI-based pod limit and by allocatable
CPU and memory, in the nodes left after losing one; the inventory the sizing counts is the
one the platform's releases install; a group smaller than that is refused."""

from __future__ import annotations

import base64
import dataclasses
import email
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from components.cluster.system_capacity import (
    DAEMONSETS,
    SYSTEM_PODS,
    NodeShape,
    Pods,
    max_pods,
    node_shape,
    nodes_needed,
)
from components.conventions import SYSTEM_LABEL
from pulumi_offline import OfflineRun, RecordedResource
from tests.support.preview import RELEASE


def pins_to_system(values: Any) -> int:
    """How many pod templates of a release's values pin to the system nodes."""
    if isinstance(values, dict):
        own = int(values.get("nodeSelector") == SYSTEM_LABEL)
        return own + sum(pins_to_system(child) for child in values.values())
    if isinstance(values, list):
        return sum(pins_to_system(child) for child in values)
    return 0


def test_the_ec2_tables_are_aws_figures() -> None:
    """t3.medium: 3 ENIs x 6 addresses -> 17 pods (eni-max-pods.txt), allocatable 1930m CPU
    and 3246Mi memory (Karpenter's reference); with prefixes 110 pods, and the kubelet
    reserves 11Mi more for each of the 93 extra."""
    assert node_shape("t3.medium", False) == NodeShape(pods=17, cpu_m=1930, memory_mi=3246)
    assert node_shape("t3.medium", True) == NodeShape(pods=110, cpu_m=1930, memory_mi=2223)
    assert max_pods("m5.8xlarge", True) == 250  # 32 vCPUs
    assert max_pods("t3.nano", True) == 34  # 2 ENIs x 1 prefix slot x 16 + 2


def system_nodes(run: OfflineRun) -> RecordedResource:
    (group,) = run.of_type("aws:eks/nodeGroup:NodeGroup")
    return group


def kubelet_max_pods(run: OfflineRun) -> int:
    template = run.by_id(system_nodes(run).inputs["launchTemplate"]["id"])
    document = base64.b64decode(template.inputs["userData"]).decode()
    message = email.message_from_string(document)
    (part,) = [p for p in message.walk() if p.get_content_type() == "application/node.eks.aws"]
    config = yaml.safe_load(str(part.get_payload()))
    assert config["kind"] == "NodeConfig"
    pods: int = config["spec"]["kubelet"]["config"]["maxPods"]
    return pods


def test_the_committed_group_holds_its_pods_with_one_node_lost(shared: OfflineRun) -> None:
    group = system_nodes(shared)
    (cluster,) = shared.of_type("eks:index:Cluster")
    assert cluster.inputs["vpcCniOptions"]["enablePrefixDelegation"] is True
    assert group.inputs["amiType"] == "AL2023_x86_64_STANDARD"
    assert kubelet_max_pods(shared) == max_pods("t3.medium", True) == 110
    # 24 pods, 103 slots a node beside 7 DaemonSet pods; 1964Mi of 2223Mi requested.
    needed = nodes_needed(group.inputs["instanceTypes"], True)
    assert needed == 2
    assert group.inputs["scalingConfig"]["minSize"] >= needed


def test_without_prefixes_two_t3_medium_are_too_few() -> None:
    """SPEC's 2 x t3.medium with the ENI-based 17 pods: the node left after one is lost
    has 10 slots for 24 pods; four would be needed."""
    assert nodes_needed(["t3.medium"], False) == 4


def test_a_group_smaller_than_its_pods_need_is_refused(
    stack_with: Callable[..., OfflineRun],
) -> None:
    one = {"systemNodes": {"desired": 1, "min": 1, "max": 3}}
    with pytest.raises(Exception, match="system node group: min 1 < 2"):
        stack_with("shared", {"pingvas:cluster": one})
    # A type whose memory, less the kubelet's reservation for 110 pods, holds no
    # Karpenter controller.
    with pytest.raises(Exception, match=r"t3\.small: a system pod does not fit"):
        stack_with("shared", {"pingvas:cluster": {"systemNodes": {"instanceTypes": ["t3.small"]}}})


def test_cpu_and_memory_bind_when_pods_request_more() -> None:
    """Pod slots are not the only limit: pods requesting 1 CPU each need a node apiece."""
    heavy = [Pods("x", "heavy", 3, cpu_m=1000, memory_mi=100)]
    assert nodes_needed(["t3.large"], False, heavy, DAEMONSETS) == 4
    assert nodes_needed(["t3.large"], False, [Pods("x", "light", 3)], DAEMONSETS) == 2


# Charts whose one `nodeSelector` value serves all their Deployments.
ONE_SELECTOR_FOR_ALL = {"keda"}


def inventory_gaps(run: OfflineRun) -> list[str]:
    """Releases whose pinned pods or replicas differ from the inventory."""
    listed = Counter(pods.chart for pods in SYSTEM_PODS)
    gaps = []
    for release in run.of_type(RELEASE):
        chart = release.inputs["chart"].rsplit("/", 1)[-1]
        values = release.inputs.get("values", {})
        pinned = pins_to_system(values)
        if chart in ONE_SELECTOR_FOR_ALL:
            pinned = listed[chart] if pinned else 0
        if pinned != listed[chart]:
            gaps.append(f"{chart}: {pinned} pod templates pinned, {listed[chart]} listed")
        gaps += [
            f"{chart} {pods.name}: {values.get(pods.replicas_value)} replicas, "
            f"{pods.replicas} listed"
            for pods in SYSTEM_PODS
            if pods.chart == chart
            and pods.replicas_value
            and values.get(pods.replicas_value) != pods.replicas
        ]
    return gaps


def test_the_inventory_is_what_the_platform_installs(shared: OfflineRun) -> None:
    assert inventory_gaps(shared) == []
    daemonset_charts = {d.chart for d in DAEMONSETS if not d.chart.startswith("eks:")}
    assert daemonset_charts <= {r.inputs["chart"] for r in shared.of_type(RELEASE)}


def test_a_release_pinning_more_than_the_inventory_is_caught(shared: OfflineRun) -> None:
    def changed(resource: RecordedResource) -> RecordedResource:
        if resource.type != RELEASE or resource.inputs["chart"] != "metrics-server":
            return resource
        values = {**resource.inputs["values"], "replicas": 3}
        values["extra"] = {"nodeSelector": SYSTEM_LABEL}
        return dataclasses.replace(resource, inputs={**resource.inputs, "values": values})

    run = dataclasses.replace(shared, resources=[changed(r) for r in shared.resources])
    assert inventory_gaps(run) == [
        "metrics-server: 2 pod templates pinned, 1 listed",
        "metrics-server metrics-server: 3 replicas, 2 listed",
    ]
