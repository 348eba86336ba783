"""Quota arithmetic for a namespace: what its pods request at their worst moment, as the
API server's quota admission counts it (requests after the LimitRange's defaults). Pure
Python over manifests (plain dicts), so the config check (stacks/release_fit.py) and the
tests over rendered previews share it.

The worst moment of a release: every workload at its maximum scale (a HorizontalPodAutoscaler's
or KEDA ScaledObject's maximum, else its replicas), plus the one-off pods of the release, which
come one after another: the pre-upgrade hook, then every Deployment's surge at once (Helm
updates them together), then the Helm test pod.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

# Kubernetes quantity suffixes (apimachinery resource.Quantity).
_SUFFIXES: dict[str, int | Fraction] = {
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 1000),
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "P": 10**15,
    "E": 10**18,
}
RESOURCES = ("cpu", "memory", "nvidia.com/gpu")
# The LimitRange every environment namespace gets (components/environment/tenancy.py): what
# a container without requests is counted at.
CONTAINER_DEFAULT_REQUEST = {"cpu": "100m", "memory": "128Mi"}


def quantity(value: str | int | float) -> Fraction:
    text = str(value)
    for suffix in sorted(_SUFFIXES, key=len, reverse=True):
        if text.endswith(suffix) and text[: -len(suffix)].replace(".", "", 1).isdigit():
            return Fraction(text[: -len(suffix)]) * _SUFFIXES[suffix]
    return Fraction(text)


@dataclass
class Usage:
    """Requested resources and pods, as a ResourceQuota counts them."""

    requests: dict[str, Fraction] = field(default_factory=dict)
    pods: int = 0

    def __add__(self, other: Usage) -> Usage:
        keys = {*self.requests, *other.requests}
        return Usage(
            {
                k: self.requests.get(k, Fraction(0)) + other.requests.get(k, Fraction(0))
                for k in keys
            },
            self.pods + other.pods,
        )

    def times(self, count: int) -> Usage:
        return Usage({k: v * count for k, v in self.requests.items()}, self.pods * count)

    def largest(self, other: Usage) -> Usage:
        keys = {*self.requests, *other.requests}
        return Usage(
            {
                k: max(self.requests.get(k, Fraction(0)), other.requests.get(k, Fraction(0)))
                for k in keys
            },
            max(self.pods, other.pods),
        )


def container_requests(
    container: Mapping[str, Any], defaults: Mapping[str, Any]
) -> dict[str, Fraction]:
    """A container's requests once admitted: its own, else its limit (the API server's
    defaulting), else the LimitRange's defaultRequest."""
    resources = container.get("resources") or {}
    requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
    merged = {**defaults, **limits, **requests}
    return {name: quantity(value) for name, value in merged.items() if name in RESOURCES}


def pod_usage(pod_spec: Mapping[str, Any], defaults: Mapping[str, Any]) -> Usage:
    """A pod's effective requests: its containers' sum, or its largest init container."""
    total = Usage(pods=1)
    for container in pod_spec.get("containers", []):
        total = total + Usage(container_requests(container, defaults))
    for init in pod_spec.get("initContainers", []):
        total = total.largest(Usage(container_requests(init, defaults), pods=1))
    return total


def limit_range_defaults(limit_range_spec: Mapping[str, Any]) -> dict[str, Any]:
    (container,) = [item for item in limit_range_spec["limits"] if item["type"] == "Container"]
    return dict(container.get("defaultRequest") or {})


def surge(strategy: Mapping[str, Any] | None, replicas: int) -> int:
    """Extra pods a RollingUpdate starts (a percentage rounds up, as the controller does)."""
    if not strategy or strategy.get("type") == "Recreate":
        return 0
    value = (strategy.get("rollingUpdate") or {}).get("maxSurge", "25%")
    if isinstance(value, str) and value.endswith("%"):
        return math.ceil(replicas * int(value[:-1]) / 100)
    return int(value)


def peak_usage(manifests: Iterable[Mapping[str, Any]], defaults: Mapping[str, Any]) -> Usage:
    """The release's worst moment in its namespace (module docstring)."""
    manifests = list(manifests)
    scalers = {
        m["spec"]["scaleTargetRef"]["name"]: int(
            m["spec"].get("maxReplicas", m["spec"].get("maxReplicaCount", 100))
        )
        for m in manifests
        if m["kind"] in ("HorizontalPodAutoscaler", "ScaledObject")
    }
    running, surges, one_off = Usage(), Usage(), Usage()
    for manifest in manifests:
        kind, spec = manifest["kind"], manifest.get("spec", {})
        name = manifest["metadata"]["name"]
        hook = (manifest["metadata"].get("annotations") or {}).get("helm.sh/hook")
        if kind == "Pod":
            one_off = one_off.largest(pod_usage(spec, defaults))
        elif kind == "Job":
            pod = pod_usage(spec["template"]["spec"], defaults).times(spec.get("parallelism", 1))
            if hook:
                one_off = one_off.largest(pod)
            else:
                running = running + pod
        elif kind in ("Deployment", "StatefulSet"):
            replicas = scalers.get(name, spec.get("replicas", 1))
            pod = pod_usage(spec["template"]["spec"], defaults)
            running = running + pod.times(replicas)
            if kind == "Deployment":
                surges = surges + pod.times(surge(spec.get("strategy"), replicas))
    return running + one_off.largest(surges)


def overages(usage: Usage, hard: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """(quota key, asked, allowed) for what `usage` asks beyond a ResourceQuota's `hard`."""
    found = []
    for resource in RESOURCES:
        limit = hard.get(f"requests.{resource}")
        asked = usage.requests.get(resource, Fraction(0))
        if limit is not None and asked > quantity(limit):
            found.append((f"requests.{resource}", f"{float(asked):g}", limit))
    if "pods" in hard and usage.pods > int(hard["pods"]):
        found.append(("pods", str(usage.pods), hard["pods"]))
    return found


def over_quota(usage: Usage, hard: Mapping[str, str]) -> list[str]:
    """What `usage` asks beyond a ResourceQuota's `hard`: [] when it fits."""
    return [f"{key}: {asked} > {limit}" for key, asked, limit in overages(usage, hard)]
