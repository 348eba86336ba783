"""What may run on the general pool's Graviton nodes, and where each is shown to be
published for arm64 (decision 0116).

The general and preview NodePools allow arm64 (components/cluster/karpenter.py) only
because every DaemonSet (components/cluster/system_capacity.py), every image the stacks
run in a pod that no nodeSelector keeps on the system or GPU nodes, and the API image
(built for both by .github/workflows/images.yaml) has a source here;
tests/infra/test_graviton.py fails when one is missing. The system nodes (t3) and the GPU
nodes stay x86, so the add-ons pinned there and the worker image need no entry.
"""

from __future__ import annotations

from collections.abc import Iterable

# Amazon EKS's own add-ons (VPC CNI, kube-proxy, CoreDNS, the EBS and EFS CSI drivers)
# ship multi-architecture images.
EKS_ADDONS = (
    "https://aws-ia.github.io/terraform-aws-eks-blueprints-addons/v1.9.0/architectures "
    "('Amazon EKS add-ons utilize multi-architecture container images')"
)
DOCKER_OFFICIAL = (
    "https://github.com/docker-library/official-images/blob/master/library/{name} "
    "(each tag's Architectures include arm64v8)"
)

# DaemonSet (as system_capacity.DAEMONSETS names it) -> the source.
DAEMONSETS: dict[str, str] = {
    "aws-node": EKS_ADDONS,
    "kube-proxy": EKS_ADDONS,
    "eks-pod-identity-agent": (
        "github:aws/eks-pod-identity-agent charts/eks-pod-identity-agent/values.yaml "
        "(the add-on's own node affinity: kubernetes.io/arch In amd64, arm64)"
    ),
    "ebs-csi-node": EKS_ADDONS,
    "efs-csi-node": EKS_ADDONS,
    "fluent-bit": (
        "https://docs.fluentbit.io/manual/1.9/installation/docker "
        "(manifest architectures x86_64, arm64v8, arm32v7)"
    ),
    "prometheus-node-exporter": (
        "github:prometheus/node_exporter Makefile.common "
        "(DOCKER_ARCHS amd64 armv7 arm64 ppc64le s390x, quay.io/prometheus/node-exporter)"
    ),
}
# Deployments the EKS add-ons run with no nodeSelector of ours.
ADDON_DEPLOYMENTS: dict[str, str] = dict.fromkeys(
    ("coredns", "ebs-csi-controller", "efs-csi-controller"), EKS_ADDONS
)
# Images the stacks run themselves, unpinned: the schema-owner bootstrap Job (platform),
# a preview's PostgreSQL and Redis or Valkey (components/data/).
IMAGES: dict[str, str] = {
    "postgres:16.8-alpine": DOCKER_OFFICIAL.format(name="postgres"),
    "postgres:16.8-bookworm": DOCKER_OFFICIAL.format(name="postgres"),
    "redis:7.2.7-alpine": DOCKER_OFFICIAL.format(name="redis"),
    # The Valkey project's images, built from the Dockerfiles of the official `valkey`.
    "valkey/valkey:8.0.2-alpine": DOCKER_OFFICIAL.format(name="valkey"),
}


def without_evidence(names: Iterable[str], evidence: dict[str, str]) -> list[str]:
    """The names (DaemonSets or images) with no arm64 source: none may run on the
    general pool while it allows Graviton."""
    return sorted({name for name in names if not evidence.get(name)})
