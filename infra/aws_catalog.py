"""What the program knows about AWS offerings, one table per fact, each with its source.

Stack config is checked against these tables, so a typo (`g4dn.xlarg`, `us-east-7`) or
an EKS version out of standard support stops the program with a message instead of
failing half-way through `pulumi up`.
"""

from __future__ import annotations

import re
from datetime import date

import pulumi_aws

# The regions pulumi-aws itself knows (its `Region` enum), so the list moves with the SDK.
REGIONS = frozenset(region.value for region in pulumi_aws.Region)

# EKS standard support: 14 months from each minor version's release on EKS; after that
# a cluster runs on paid extended support. Source: docs.aws.amazon.com/eks/latest/
# userguide/kubernetes-versions.html and endoflife.date/amazon-eks (read 2026-02).
# Add a version here, with its date, once EKS publishes it.
EKS_STANDARD_SUPPORT_ENDS = {
    "1.32": date(2026, 3, 23),
    "1.33": date(2026, 7, 29),
    "1.34": date(2026, 12, 2),
    "1.35": date(2027, 3, 27),
}


def eks_versions_in_standard_support(today: date) -> list[str]:
    return [
        version
        for version, ends in sorted(
            EKS_STANDARD_SUPPORT_ENDS.items(), key=lambda item: int(item[0].split(".")[1])
        )
        if ends >= today
    ]


def check_eks_version(version: str, today: date) -> str:
    supported = eks_versions_in_standard_support(today)
    span = f"{supported[0]}-{supported[-1]}" if supported else "none: update infra/aws_catalog.py"
    ends = EKS_STANDARD_SUPPORT_ENDS.get(version)
    if ends is None:
        raise ValueError(
            f"{version} is not an EKS version this program knows; in standard support: {span}"
        )
    if ends < today:
        raise ValueError(
            f"{version} left EKS standard support on {ends} (extended support is billed per "
            f"cluster-hour); in standard support: {span}"
        )
    return version


# Sizes of the x86 families the program runs (its images are amd64), per AWS's instance
# type pages (aws.amazon.com/ec2/instance-types/).
_BURSTABLE = ("nano", "micro", "small", "medium", "large", "xlarge", "2xlarge")
_GENERAL = ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge")
SYSTEM_NODE_FAMILIES: dict[str, tuple[str, ...]] = {
    "t3": _BURSTABLE,
    "t3a": _BURSTABLE,
    **dict.fromkeys(("m5", "m6i", "m7i", "c5", "c6i", "c7i", "r5", "r6i"), _GENERAL),
}
# GPUs per instance of the NVIDIA families the worker image supports (T4, A10G, L4,
# L40S). The GPU node pool's limit counts GPUs, so a 4-GPU size uses four of it.
_ONE_GPU = dict.fromkeys(("xlarge", "2xlarge", "4xlarge", "8xlarge", "16xlarge"), 1)
GPU_FAMILIES: dict[str, dict[str, int]] = {
    "g4dn": {**_ONE_GPU, "12xlarge": 4, "metal": 8},
    "g5": {**_ONE_GPU, "12xlarge": 4, "24xlarge": 4, "48xlarge": 8},
    "g6": {**_ONE_GPU, "12xlarge": 4, "24xlarge": 4, "48xlarge": 8},
    "g6e": {**_ONE_GPU, "12xlarge": 4, "24xlarge": 4, "48xlarge": 8},
}
# Local NVMe of each family's smallest size, GB (the same pages). The GPU node class keeps
# the kubelet and container images on it (Karpenter's RAID0 policy), so a family without
# an instance store cannot join this table without a larger root volume.
GPU_INSTANCE_STORE_GB: dict[str, int] = {"g4dn": 125, "g5": 250, "g6": 250, "g6e": 250}
# ElastiCache node types (aws.amazon.com/elasticache/pricing/), Graviton and burstable.
_CACHE_BURSTABLE = ("micro", "small", "medium")
_CACHE_GENERAL = ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge")
CACHE_FAMILIES: dict[str, tuple[str, ...]] = {
    "t3": _CACHE_BURSTABLE,
    "t4g": _CACHE_BURSTABLE,
    **dict.fromkeys(("m6g", "m7g", "r6g", "r7g"), _CACHE_GENERAL),
}

_INSTANCE_TYPE = re.compile(r"^(?P<family>[a-z0-9-]+)\.(?P<size>[a-z0-9]+)$")


def _check_type(instance_type: str, families: dict[str, tuple[str, ...]], what: str) -> str:
    match = _INSTANCE_TYPE.match(instance_type)
    family = match["family"] if match else ""
    if family not in families:
        known = ", ".join(sorted(families))
        raise ValueError(f"{instance_type!r} is not a {what} instance type (families: {known})")
    sizes = families[family]
    assert match is not None
    if match["size"] not in sizes:
        raise ValueError(
            f"{instance_type!r} does not exist (sizes of {family}: {', '.join(sizes)})"
        )
    return instance_type


def check_system_node_type(instance_type: str) -> str:
    return _check_type(instance_type, SYSTEM_NODE_FAMILIES, "supported system node")


def check_gpu_node_type(instance_type: str) -> str:
    families = {family: tuple(sizes) for family, sizes in GPU_FAMILIES.items()}
    return _check_type(instance_type, families, "supported NVIDIA GPU")


def check_cache_node_type(node_type: str) -> str:
    if not node_type.startswith("cache."):
        raise ValueError(f"{node_type!r} is not an ElastiCache node type (cache.<family>.<size>)")
    _check_type(node_type.removeprefix("cache."), CACHE_FAMILIES, "supported ElastiCache")
    return node_type


def gpus_per_node(instance_type: str) -> int:
    family, _, size = instance_type.partition(".")
    return GPU_FAMILIES[family][size]
