"""Karpenter v1 (SPEC §3: GPU nodes 0-10, Spot first, interruption handling).

The AWS side (controller role through Pod Identity, node role with its access entry,
the interruption queue and its four EventBridge rules), the pinned Helm chart on the
system nodes, and the EC2NodeClasses and NodePools it provisions from. The controller's
IAM policy is in karpenter_policy.py.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components import chart_versions
from components.cluster.eks import node_role
from components.cluster.karpenter_policy import controller_policy
from components.conventions import (
    GPU_LABEL,
    GPU_TAINT,
    PREVIEW_NODE_LABEL,
    PREVIEW_NODES_TAG,
    PREVIEW_TAINT,
    SYSTEM_LABEL,
)
from components.iam import (
    PodIdentityBinding,
    account_id,
    arn,
    bind_service_account,
    deny_insecure_transport,
    partition,
    pod_identity_role,
    policy_document,
)

# The worker image is built for x86 only (CUDA wheels; .github/workflows/images.yaml): its
# pools say so, whatever GPU types are added to them.
GPU_ARCHITECTURES = ("amd64",)
# What the NVIDIA device plugin's default node affinity looks for (we run no NFD).
GPU_PRESENT = {"nvidia.com/gpu.present": "true"}
SERVICE_ACCOUNT = "karpenter"
# Events Karpenter reacts to before AWS takes a node away (detail-type by source).
INTERRUPTION_EVENTS = {
    "spot-interruption": ("aws.ec2", "EC2 Spot Instance Interruption Warning"),
    "rebalance": ("aws.ec2", "EC2 Instance Rebalance Recommendation"),
    "instance-state-change": ("aws.ec2", "EC2 Instance State-change Notification"),
    "scheduled-change": ("aws.health", "AWS Health Event"),
    "capacity-reservation-interruption": (
        "aws.ec2",
        "EC2 Capacity Reservation Instance Interruption Warning",
    ),
}


@dataclass(frozen=True)
class GpuPool:
    """One of the weighted GPU NodePools (`gpu-<name>`): Karpenter tries the highest
    weight first and falls to the next when it cannot launch there."""

    name: str
    instance_types: Sequence[str]
    weight: int


@dataclass
class KarpenterArgs:
    cluster_name: str
    cluster_endpoint: pulumi.Input[str]
    cluster_security_group_id: pulumi.Input[str]
    namespace: pulumi.Input[str]
    region: str
    # Cheapest per image first (infra/gpu_ranking.py decides the order and the weights).
    gpu_pools: Sequence[GpuPool] = (
        GpuPool("g4dn-xlarge", ["g4dn.xlarge"], 100),
        GpuPool("unmeasured", ["g4dn.2xlarge", "g5.xlarge"], 1),
    )
    # GPUs each weighted pool may run: Karpenter has no limit across pools, and a pool
    # split would cap the cheapest type below the fleet. The workers bound the sum: each
    # takes one GPU and the environments' KEDA maxima together stay within this
    # (infra/config_checks.py), so the pools hold at most this many nodes in all.
    gpu_limit: int = 10
    gpu_on_demand_fallback: bool = True
    gpu_expire_after: str = "720h"
    # The OS only: the GPU node class keeps the kubelet and container images on the
    # instance store (every supported GPU family has local NVMe; infra/aws_catalog.py).
    gpu_root_volume_gi: int = 20
    general_instance_categories: list[str] = field(default_factory=lambda: ["c", "m", "r"])
    # The general and preview pools' CPU architectures: arm64 only where everything that
    # runs there is published for it (components/cluster/arm64.py, decision 0116).
    general_architectures: tuple[str, ...] = ("amd64",)
    general_cpu_limit: int = 64
    general_expire_after: str = "720h"
    # The previews' own pools (issue 22, item 6), tainted and labelled so that only
    # preview pods (held to it by admission) run there; Spot only, with their own limits.
    preview_cpu_limit: int = 16
    preview_gpu_limit: int = 2
    ami_alias: str = "al2023@latest"
    # Tags for the instances and volumes Karpenter launches.
    instance_tags: Mapping[str, str] = field(default_factory=dict)
    depends_on: Sequence[pulumi.Resource] = ()


class Karpenter(pulumi.ComponentResource):
    node_role_name: pulumi.Output[str]
    interruption_queue_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: KarpenterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pingvas:karpenter:Karpenter", name, None, opts)
        self._name = name
        self._args = args
        identity = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))
        self._partition = partition(self)

        node_role = self._node_role()
        self.node_role_name = node_role.name
        queue = self._interruption_queue()
        self.interruption_queue_name = queue.name

        binding = PodIdentityBinding(
            cluster_name=args.cluster_name,
            region=args.region,
            namespace=args.namespace,
            service_account=SERVICE_ACCOUNT,
        )
        controller_role = pod_identity_role(
            f"{name}-controller",
            binding=binding,
            policy=controller_policy(
                cluster_name=args.cluster_name,
                region=args.region,
                partition=self._partition,
                account_id=identity.account_id,
                node_role_arn=node_role.arn,
                queue_arn=queue.arn,
            ),
            parent=self,
        )
        association = bind_service_account(
            f"{name}-controller",
            controller_role,
            binding=binding,
            parent=self,
            depends_on=args.depends_on,
        )
        chart = chart_versions.KARPENTER
        release = k8s.helm.v3.Release(
            name,
            chart=chart.name,
            version=chart.version,
            namespace=args.namespace,
            values={
                "settings": {
                    "clusterName": args.cluster_name,
                    "clusterEndpoint": args.cluster_endpoint,
                    "interruptionQueue": queue.name,
                },
                "serviceAccount": {"create": True, "name": SERVICE_ACCOUNT},
                "replicas": 2,
                "nodeSelector": SYSTEM_LABEL,
                "controller": {
                    "resources": {
                        "requests": {"cpu": "250m", "memory": "512Mi"},
                        "limits": {"memory": "512Mi"},
                    }
                },
            },
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[association, *args.depends_on],
            ),
        )
        on_cluster = pulumi.ResourceOptions(parent=self, depends_on=[release])
        for node_class in self._node_classes(node_role.name):
            k8s.apiextensions.CustomResource(
                f"{name}-{node_class['metadata']['name']}",
                api_version="karpenter.k8s.aws/v1",
                kind="EC2NodeClass",
                metadata=node_class["metadata"],
                spec=node_class["spec"],
                opts=on_cluster,
            )
        for node_pool in self._node_pools():
            k8s.apiextensions.CustomResource(
                f"{name}-{node_pool['metadata']['name']}-pool",
                api_version="karpenter.sh/v1",
                kind="NodePool",
                metadata=node_pool["metadata"],
                spec=node_pool["spec"],
                opts=on_cluster,
            )
        self.register_outputs(
            {
                "node_role_name": self.node_role_name,
                "interruption_queue_name": self.interruption_queue_name,
            }
        )

    def _node_role(self) -> aws.iam.Role:
        role, _ = node_role(f"{self._name}-node", "Instances Karpenter launches", parent=self)
        # Lets the nodes join: API authentication mode has no aws-auth ConfigMap.
        aws.eks.AccessEntry(
            f"{self._name}-node",
            cluster_name=self._args.cluster_name,
            principal_arn=role.arn,
            type="EC2_LINUX",
            opts=pulumi.ResourceOptions(parent=self),
        )
        return role

    def _interruption_queue(self) -> aws.sqs.Queue:
        child = pulumi.ResourceOptions(parent=self)
        queue = aws.sqs.Queue(
            f"{self._name}-interruptions",
            name=f"{self._args.cluster_name}-karpenter",
            message_retention_seconds=300,
            sqs_managed_sse_enabled=True,
            opts=child,
        )
        aws.sqs.QueuePolicy(
            f"{self._name}-interruptions",
            queue_url=queue.url,
            policy=policy_document(
                [
                    {
                        # Only this component's EventBridge rules, in this account.
                        "Sid": "EventBridgeDelivers",
                        "Effect": "Allow",
                        "Principal": {"Service": "events.amazonaws.com"},
                        "Action": "sqs:SendMessage",
                        "Resource": queue.arn,
                        "Condition": {
                            "ArnLike": {
                                "aws:SourceArn": arn(
                                    self._partition,
                                    "events",
                                    f"rule/{self._name}-*",
                                    region=self._args.region,
                                    account=account_id(self),
                                )
                            }
                        },
                    },
                    deny_insecure_transport("sqs:*", queue.arn, sid="DenyWithoutTLS"),
                ]
            ),
            opts=child,
        )
        for rule_name, (source, detail_type) in INTERRUPTION_EVENTS.items():
            rule = aws.cloudwatch.EventRule(
                f"{self._name}-{rule_name}",
                description=f"Karpenter: {detail_type}",
                event_pattern=json.dumps({"source": [source], "detail-type": [detail_type]}),
                opts=child,
            )
            aws.cloudwatch.EventTarget(
                f"{self._name}-{rule_name}",
                rule=rule.name,
                arn=queue.arn,
                target_id="karpenter-interruption-queue",
                opts=child,
            )
        return queue

    def _node_classes(self, node_role_name: pulumi.Output[str]) -> list[dict[str, Any]]:
        args = self._args
        discovery = {"karpenter.sh/discovery": args.cluster_name}

        def node_class(
            class_name: str, root_volume_gi: int, instance_store: bool, nodes_group: dict[str, Any]
        ) -> dict[str, Any]:
            # RAID0 puts the kubelet's and containerd's directories on the instance's NVMe
            # disks: multi-GB CUDA images unpack there, faster than on gp3 and at no charge.
            local_storage = {"instanceStorePolicy": "RAID0"} if instance_store else {}
            return {
                "metadata": {"name": class_name},
                "spec": {
                    "role": node_role_name,
                    "amiSelectorTerms": [{"alias": args.ami_alias}],
                    "subnetSelectorTerms": [{"tags": discovery}],
                    # The network's nodes group (tagged) and the EKS cluster group.
                    "securityGroupSelectorTerms": [
                        nodes_group,
                        {"id": args.cluster_security_group_id},
                    ],
                    "metadataOptions": {
                        "httpEndpoint": "enabled",
                        "httpProtocolIPv6": "disabled",
                        "httpPutResponseHopLimit": 1,
                        "httpTokens": "required",
                    },
                    "blockDeviceMappings": [
                        {
                            "deviceName": "/dev/xvda",
                            "ebs": {
                                "volumeSize": f"{root_volume_gi}Gi",
                                "volumeType": "gp3",
                                "encrypted": True,
                                "deleteOnTermination": True,
                            },
                        }
                    ],
                    **local_storage,
                    "tags": dict(args.instance_tags),
                },
            }

        # Preview nodes get the network's preview group instead of `nodes`: the data stores
        # admit `nodes` only, so a preview's pods cannot reach Aurora or another Redis.
        preview_group = {"tags": {PREVIEW_NODES_TAG: args.cluster_name}}
        return [
            # The API's images are small: AL2023's 20 GiB plus room for a node's image cache.
            node_class("default", 30, False, {"tags": discovery}),
            node_class("gpu", args.gpu_root_volume_gi, True, {"tags": discovery}),
            node_class("preview", 30, False, preview_group),
            node_class("preview-gpu", args.gpu_root_volume_gi, True, preview_group),
        ]

    def _node_pools(self) -> list[dict[str, Any]]:
        args = self._args
        capacity = ["spot", "on-demand"] if args.gpu_on_demand_fallback else ["spot"]
        every_gpu_type = [t for pool in args.gpu_pools for t in pool.instance_types]
        gpu_pools = [
            node_pool(
                f"gpu-{pool.name}",
                node_class="gpu",
                labels={**GPU_LABEL, **GPU_PRESENT},
                taints=[GPU_TAINT],
                # With both allowed, Karpenter launches Spot whenever offered.
                requirements=[
                    _instance_types(pool.instance_types),
                    _capacity(capacity),
                    _architectures(GPU_ARCHITECTURES),
                ],
                expire_after=args.gpu_expire_after,
                limits={"nvidia.com/gpu": args.gpu_limit},
                consolidate_after="5m",
                weight=pool.weight,
            )
            for pool in args.gpu_pools
        ]
        # Previews run on the general pool's instances, behind their own taint.
        general_requirements = _general_requirements(
            args.general_instance_categories, args.general_architectures
        )
        general = node_pool(
            "general",
            node_class="default",
            labels={},
            taints=[],
            requirements=general_requirements,
            expire_after=args.general_expire_after,
            limits={"cpu": args.general_cpu_limit},
            consolidate_after="1m",
        )
        preview = node_pool(
            "preview",
            node_class="preview",
            labels=PREVIEW_NODE_LABEL,
            taints=[PREVIEW_TAINT],
            requirements=general_requirements,
            expire_after=args.general_expire_after,
            limits={"cpu": args.preview_cpu_limit},
            consolidate_after="1m",
        )
        preview_gpu = node_pool(
            "preview-gpu",
            node_class="preview-gpu",
            labels={**GPU_LABEL, **GPU_PRESENT, **PREVIEW_NODE_LABEL},
            taints=[GPU_TAINT, PREVIEW_TAINT],
            requirements=[
                _instance_types(every_gpu_type),
                _capacity(["spot"]),
                _architectures(GPU_ARCHITECTURES),
            ],
            expire_after=args.gpu_expire_after,
            limits={"nvidia.com/gpu": args.preview_gpu_limit},
            consolidate_after="5m",
        )
        return [*gpu_pools, general, preview, preview_gpu]


def node_pool(
    name: str,
    *,
    node_class: str,
    labels: Mapping[str, str],
    taints: list[dict[str, str]],
    requirements: list[dict[str, Any]],
    expire_after: str,
    limits: Mapping[str, int],
    consolidate_after: str,
    weight: int | None = None,
) -> dict[str, Any]:
    """A `karpenter.sh/v1` NodePool's metadata and spec."""
    template: dict[str, Any] = {
        "spec": {
            "nodeClassRef": {
                "group": "karpenter.k8s.aws",
                "kind": "EC2NodeClass",
                "name": node_class,
            },
            **({"taints": taints} if taints else {}),
            "requirements": requirements,
            "expireAfter": expire_after,
        }
    }
    if labels:
        template["metadata"] = {"labels": dict(labels)}
    spec: dict[str, Any] = {
        "template": template,
        "limits": dict(limits),
        "disruption": {
            "consolidationPolicy": "WhenEmptyOrUnderutilized",
            "consolidateAfter": consolidate_after,
        },
    }
    if weight is not None:
        spec["weight"] = weight
    return {"metadata": {"name": name}, "spec": spec}


def _instance_types(types: Sequence[str]) -> dict[str, Any]:
    return {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": list(types)}


def _capacity(capacity: list[str]) -> dict[str, Any]:
    return {"key": "karpenter.sh/capacity-type", "operator": "In", "values": capacity}


def _architectures(architectures: Sequence[str]) -> dict[str, Any]:
    return {"key": "kubernetes.io/arch", "operator": "In", "values": list(architectures)}


def _general_requirements(
    categories: Sequence[str], architectures: Sequence[str]
) -> list[dict[str, Any]]:
    """Spot CPU nodes of a current generation (the API's and the previews' pools)."""
    return [
        _capacity(["spot"]),
        {
            "key": "karpenter.k8s.aws/instance-category",
            "operator": "In",
            "values": list(categories),
        },
        {"key": "karpenter.k8s.aws/instance-generation", "operator": "Gt", "values": ["4"]},
        _architectures(architectures),
    ]
