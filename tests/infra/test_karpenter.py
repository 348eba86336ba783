"""SPEC §3 compute: Karpenter's node pools and classes, its interruption queue, release and
controller policy (shared stack)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components import chart_versions
from infra.aws_catalog import GPU_FAMILIES, GPU_INSTANCE_STORE_GB
from pulumi_offline import OfflineRun
from tests.support.preview import RELEASE, policies_of_role

NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"


def node_pool(run: OfflineRun, name: str) -> dict[str, Any]:
    (pool,) = [p for p in run.of_type(NODE_POOL) if p.inputs["metadata"]["name"] == name]
    spec: dict[str, Any] = pool.inputs["spec"]
    return spec


@pytest.mark.parametrize(
    ("name", "types", "weight"),
    [
        ("gpu-g4dn-xlarge", ["g4dn.xlarge"], 100),
        ("gpu-g4dn-2xlarge", ["g4dn.2xlarge"], 90),
        ("gpu-unmeasured", ["g5.xlarge"], 1),
    ],
)
def test_gpu_node_pools_are_spec(
    shared: OfflineRun, name: str, types: list[str], weight: int
) -> None:
    spec = node_pool(shared, name)
    assert spec["weight"] == weight  # cheapest per image first (tests/tools/test_gpu_ranking.py)
    template = spec["template"]
    assert template["metadata"]["labels"] == {
        "workload-type": "gpu",
        "nvidia.com/gpu.present": "true",  # the device plugin's node affinity
    }
    assert template["spec"]["taints"] == [{"key": "nvidia.com/gpu", "effect": "NoSchedule"}]
    requirements = {r["key"]: r for r in template["spec"]["requirements"]}
    assert requirements["node.kubernetes.io/instance-type"]["values"] == types
    assert requirements["karpenter.sh/capacity-type"]["values"] == ["spot", "on-demand"]
    # Room for every long-lived environment's GPU workers at once (dev 3 + prod 15).
    assert spec["limits"] == {"nvidia.com/gpu": 18}
    assert spec["disruption"]["consolidationPolicy"] == "WhenEmptyOrUnderutilized"
    assert template["spec"]["expireAfter"] == "720h"
    assert template["spec"]["nodeClassRef"]["name"] == "gpu"


def test_general_node_pool_is_spot_cpu(shared: OfflineRun) -> None:
    spec = node_pool(shared, "general")
    requirements = {r["key"]: r["values"] for r in spec["template"]["spec"]["requirements"]}
    assert requirements["karpenter.sh/capacity-type"] == ["spot"]
    assert requirements["karpenter.k8s.aws/instance-category"] == ["c", "m", "r"]
    assert "taints" not in spec["template"]["spec"]
    assert spec["limits"] == {"cpu": 64}


def test_node_classes_select_by_discovery_tag_and_harden_instances(shared: OfflineRun) -> None:
    for node_class in shared.of_type(NODE_CLASS):
        spec = node_class.inputs["spec"]
        discovery = {"karpenter.sh/discovery": "pingvas-shared-eks"}
        assert spec["subnetSelectorTerms"] == [{"tags": discovery}]
        preview = node_class.inputs["metadata"]["name"].startswith("preview")
        nodes_group = {"pingvas.io/preview-nodes": "pingvas-shared-eks"} if preview else discovery
        assert {"tags": nodes_group} in spec["securityGroupSelectorTerms"]
        assert {"id": shared.outputs["clusterSecurityGroupId"]} in spec[
            "securityGroupSelectorTerms"
        ]
        assert spec["metadataOptions"]["httpTokens"] == "required"
        assert spec["blockDeviceMappings"][0]["ebs"]["encrypted"] is True
        assert spec["amiSelectorTerms"] == [{"alias": "al2023@latest"}]
        node_role = shared.one("aws:iam/role:Role", "pingvas-shared-karpenter-node")
        assert spec["role"] == f"pingvas-shared-karpenter-node-{node_role.id[-7:]}"
    classes = {c.inputs["metadata"]["name"]: c.inputs["spec"] for c in shared.of_type(NODE_CLASS)}
    # GPU nodes unpack their CUDA images on the instance store; the root holds the OS.
    assert classes["gpu"]["instanceStorePolicy"] == "RAID0"
    assert classes["gpu"]["blockDeviceMappings"][0]["ebs"]["volumeSize"] == "20Gi"
    assert "instanceStorePolicy" not in classes["default"]  # c/m/r sizes may have none


def test_every_gpu_family_has_an_instance_store_for_its_images() -> None:
    # The GPU node class puts the kubelet and images on local NVMe (RAID0): a family
    # without one would fill a 20 GiB root with the first CUDA image.
    assert set(GPU_INSTANCE_STORE_GB) == set(GPU_FAMILIES)


def test_karpenter_nodes_join_through_an_ec2_linux_access_entry(shared: OfflineRun) -> None:
    (entry,) = [
        e
        for e in shared.of_type("aws:eks/accessEntry:AccessEntry")
        if e.inputs["type"] != "STANDARD"  # the deployers' (tests/infra/test_deployers.py)
    ]
    node_role = shared.one("aws:iam/role:Role", "pingvas-shared-karpenter-node")
    assert entry.inputs["type"] == "EC2_LINUX"
    assert entry.inputs["principalArn"].endswith(node_role.id)


def test_interruption_queue_gets_every_interruption_event(shared: OfflineRun) -> None:
    (queue,) = shared.of_type("aws:sqs/queue:Queue")
    assert queue.inputs["sqsManagedSseEnabled"] is True
    queue_arn = "arn:aws:sqs:us-east-1:123456789012:pingvas-shared-eks-karpenter"
    rules = {
        r.name: json.loads(r.inputs["eventPattern"])
        for r in shared.of_type("aws:cloudwatch/eventRule:EventRule")
    }
    patterns = {(p["source"][0], p["detail-type"][0]) for p in rules.values()}
    assert patterns == {
        ("aws.ec2", "EC2 Spot Instance Interruption Warning"),
        ("aws.ec2", "EC2 Instance Rebalance Recommendation"),
        ("aws.ec2", "EC2 Instance State-change Notification"),
        ("aws.health", "AWS Health Event"),
        ("aws.ec2", "EC2 Capacity Reservation Instance Interruption Warning"),
    }
    targets = shared.of_type("aws:cloudwatch/eventTarget:EventTarget")
    assert len(targets) == 5
    rule_names = {
        f"{name}-{shared.one('aws:cloudwatch/eventRule:EventRule', name).id[-7:]}" for name in rules
    }
    assert {t.inputs["rule"] for t in targets} == rule_names
    assert {t.inputs["arn"] for t in targets} == {queue_arn}
    (queue_policy,) = shared.of_type("aws:sqs/queuePolicy:QueuePolicy")
    statements = json.loads(queue_policy.inputs["policy"])["Statement"]
    deny = next(s for s in statements if s["Effect"] == "Deny")
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_karpenter_release_is_pinned_and_configured(shared: OfflineRun) -> None:
    karpenter = shared.one(RELEASE, "pingvas-shared-karpenter")
    assert karpenter.inputs["chart"] == "oci://public.ecr.aws/karpenter/karpenter"
    assert karpenter.inputs["version"] == chart_versions.KARPENTER.version
    values = karpenter.inputs["values"]
    assert values["settings"] == {
        "clusterName": "pingvas-shared-eks",
        "clusterEndpoint": values["settings"]["clusterEndpoint"],
        "interruptionQueue": "pingvas-shared-eks-karpenter",
    }
    assert values["settings"]["clusterEndpoint"].startswith("https://")
    assert values["settings"]["clusterEndpoint"].endswith(".eks.amazonaws.com")
    assert values["nodeSelector"] == {"role": "system"}
    assert karpenter.inputs["namespace"] == "karpenter"
    (association,) = [
        a
        for a in shared.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
        if a.inputs["serviceAccount"] == "karpenter"
    ]
    assert association.inputs["namespace"] == "karpenter"


def test_karpenter_controller_policy_is_scoped_to_this_cluster(shared: OfflineRun) -> None:
    role = shared.one("aws:iam/role:Role", "pingvas-shared-karpenter-controller")
    (policy,) = policies_of_role(shared, role)
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    deletion = by_sid["AllowScopedDeletion"]
    assert deletion["Condition"]["StringEquals"] == {
        "aws:ResourceTag/kubernetes.io/cluster/pingvas-shared-eks": "owned"
    }
    passing = by_sid["AllowPassingInstanceRole"]
    node_role = shared.one("aws:iam/role:Role", "pingvas-shared-karpenter-node")
    assert passing["Resource"].endswith(node_role.id)
    queue = by_sid["AllowInterruptionQueueActions"]["Resource"]
    assert queue.endswith(":pingvas-shared-eks-karpenter")
