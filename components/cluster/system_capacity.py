"""How many system nodes the platform needs: every pod pinned to them (and the managed
add-ons' Deployments, which land there because they come up before Karpenter has a node)
and a DaemonSet pod on each node fit in the nodes that remain after one is lost (a Spot
interruption), by pod slots and by allocatable CPU and memory (requests, as the scheduler
counts them).

Pod slots: without prefix delegation, the VPC CNI's ENI-based limit (eni-max-pods.txt:
ENIs x (addresses per ENI - 1) + 2; 17 on a t3.medium, too few for this platform's system
pods). With prefix delegation every address slot holds a /28 prefix of 16 addresses, and AWS
caps the pods a node should run at 110 below 30 vCPUs, 250 above (EKS user guide, "Assign
more IP addresses to Amazon EKS nodes with prefixes"; amazon-eks-ami's max-pods calculator).
The kubelet reserves 11 MiB of memory per pod it may run plus 255 MiB (amazon-eks-ami), so
more pods cost allocatable memory.

The tables come from AWS (vendor/eks/README.md). The inventory below states each
workload's replicas and requests per pod, from the values this platform sends or, where it
sends none, the chart's or add-on's defaults at the pinned version;
tests/infra/test_system_capacity.py checks it against the releases the platform installs.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

VENDOR = Path(__file__).resolve().parents[2] / "vendor" / "eks"


@dataclass(frozen=True)
class Pods:
    """`replicas` pods of one workload; requests per pod (0: the pod requests none)."""

    chart: str  # the Helm chart, or `eks:<add-on>` for an EKS managed add-on
    name: str
    replicas: int
    cpu_m: int = 0
    memory_mi: int = 0
    # Where `replicas` is set in the release's values (None: the chart's default is used).
    replicas_value: str | None = None


# Deployments and StatefulSets on the system nodes (nodeSelector role=system).
SYSTEM_PODS: tuple[Pods, ...] = (
    # Requests: the values components/cluster/karpenter.py sends.
    Pods("karpenter", "controller", 2, 250, 512, replicas_value="replicas"),
    # The LB controller chart's default `resources: {}`.
    Pods("aws-load-balancer-controller", "controller", 2, replicas_value="replicaCount"),
    # KEDA chart 2.20 defaults: 1 replica each, requests 100m / 100Mi.
    Pods("keda", "operator", 1, 100, 100),
    Pods("keda", "metrics-apiserver", 1, 100, 100),
    Pods("keda", "admission-webhooks", 1, 100, 100),
    # metrics-server chart 3.14 default requests: 100m / 200Mi.
    Pods("metrics-server", "metrics-server", 2, 100, 200, replicas_value="replicas"),
    # External Secrets, ExternalDNS: 1 replica each, chart default `resources: {}`.
    Pods("external-secrets", "controller", 1),
    Pods("external-secrets", "webhook", 1),
    Pods("external-secrets", "cert-controller", 1),
    Pods("external-dns", "external-dns", 1),
    # kube-prometheus-stack: 1 replica each, `resources: {}`; Prometheus and Alertmanager
    # carry the operator's config-reloader sidecar (its flags' defaults: 10m / 50Mi).
    Pods("kube-prometheus-stack", "prometheus-operator", 1),
    Pods("kube-prometheus-stack", "prometheus", 1, 10, 50),
    Pods("kube-prometheus-stack", "alertmanager", 1, 10, 50),
    Pods("kube-prometheus-stack", "grafana", 1),
    Pods("kube-prometheus-stack", "kube-state-metrics", 1),
    # EKS add-ons' default Deployments (CoreDNS: 100m / 70Mi a replica).
    Pods("eks:coredns", "coredns", 2, 100, 70),
    Pods("eks:aws-ebs-csi-driver", "ebs-csi-controller", 2),
    Pods("eks:aws-efs-csi-driver", "efs-csi-controller", 2),
)
# One pod on every node: the EKS add-ons' DaemonSets, Fluent Bit and the node exporter.
DAEMONSETS: tuple[Pods, ...] = (
    Pods("eks:vpc-cni", "aws-node", 1, 25, 0),
    Pods("eks:kube-proxy", "kube-proxy", 1, 100, 0),
    Pods("eks:eks-pod-identity-agent", "eks-pod-identity-agent", 1),
    Pods("eks:aws-ebs-csi-driver", "ebs-csi-node", 1),
    Pods("eks:aws-efs-csi-driver", "efs-csi-node", 1),
    Pods("fluent-bit", "fluent-bit", 1),
    Pods("kube-prometheus-stack", "prometheus-node-exporter", 1),
)


# Prefix delegation's per-node pod caps (module docstring).
PREFIX_PODS_SMALL, PREFIX_PODS_LARGE, LARGE_VCPUS = 110, 250, 30
PREFIX_ADDRESSES = 16  # a /28
KUBELET_MEMORY_MI_PER_POD = 11


@dataclass(frozen=True)
class NodeShape:
    pods: int  # the kubelet's max pods
    cpu_m: int  # allocatable
    memory_mi: int


@functools.cache
def _max_pods() -> dict[str, int]:
    rows = (line.split() for line in (VENDOR / "eni-max-pods.txt").read_text().splitlines())
    return {row[0]: int(row[1]) for row in rows if row and not row[0].startswith("#")}


@functools.cache
def _allocatable() -> dict[str, tuple[int, int, int]]:
    """type → (vCPUs, allocatable millicores, allocatable MiB at the ENI-based max pods)."""
    shapes = {}
    for line in (VENDOR / "allocatable.txt").read_text().splitlines():
        name, vcpus, cpu, memory = line.split()
        shapes[name] = (int(vcpus), int(cpu.removesuffix("m")), int(memory.removesuffix("Mi")))
    return shapes


def max_pods(instance_type: str, prefix_delegation: bool) -> int:
    """The kubelet's max pods for a node of `instance_type`."""
    eni_pods = _max_pods()[instance_type]
    if not prefix_delegation:
        return eni_pods
    vcpus = _allocatable()[instance_type][0]
    cap = PREFIX_PODS_SMALL if vcpus < LARGE_VCPUS else PREFIX_PODS_LARGE
    return min((eni_pods - 2) * PREFIX_ADDRESSES + 2, cap)


def node_shape(instance_type: str, prefix_delegation: bool) -> NodeShape:
    if instance_type not in _allocatable():
        raise ValueError(f"{instance_type}: not in vendor/eks/allocatable.txt")
    _, cpu, memory = _allocatable()[instance_type]
    pods = max_pods(instance_type, prefix_delegation)
    extra_reserved = KUBELET_MEMORY_MI_PER_POD * (pods - _max_pods()[instance_type])
    return NodeShape(pods, cpu, memory - extra_reserved)


def _packs(pods: list[Pods], nodes: int, room: NodeShape) -> bool:
    """First-fit decreasing of every pod (one replica at a time) into `nodes` nodes."""
    free = [[room.pods, room.cpu_m, room.memory_mi] for _ in range(nodes)]
    singles = sorted(
        (pod for pod in pods for _ in range(pod.replicas)),
        key=lambda pod: (pod.memory_mi, pod.cpu_m),
        reverse=True,
    )
    for pod in singles:
        node = next(
            (n for n in free if n[0] >= 1 and n[1] >= pod.cpu_m and n[2] >= pod.memory_mi), None
        )
        if node is None:
            return False
        node[0], node[1], node[2] = node[0] - 1, node[1] - pod.cpu_m, node[2] - pod.memory_mi
    return True


def nodes_needed(
    instance_types: Sequence[str],
    prefix_delegation: bool,
    pods: Sequence[Pods] = SYSTEM_PODS,
    daemonsets: Sequence[Pods] = DAEMONSETS,
) -> int:
    """The smallest group that still holds `pods` after losing one node, whichever of
    `instance_types` the group launches."""
    needed = 0
    for instance_type in instance_types:
        shape = node_shape(instance_type, prefix_delegation)
        room = NodeShape(
            shape.pods - len(daemonsets),
            shape.cpu_m - sum(d.cpu_m for d in daemonsets),
            shape.memory_mi - sum(d.memory_mi for d in daemonsets),
        )
        if min(room.pods, room.cpu_m, room.memory_mi) < 0:
            raise ValueError(f"{instance_type}: its DaemonSets alone do not fit")
        total = sum(pod.replicas for pod in pods)
        survivors = next((n for n in range(1, total + 1) if _packs(list(pods), n, room)), None)
        if survivors is None:
            raise ValueError(f"{instance_type}: a system pod does not fit on one node")
        needed = max(needed, survivors + 1)
    return needed
