"""The cluster's shared conventions: what every domain's components agree on.

A leaf: it imports no other component, and every domain may import it, so no component
reaches sideways into another domain for a label or a port.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# The managed system node group's label: controllers and add-ons run there.
SYSTEM_LABEL = {"role": "system"}
# Karpenter's GPU NodePool labels and taints its nodes; only GPU workloads tolerate it.
GPU_TAINT = {"key": "nvidia.com/gpu", "effect": "NoSchedule"}
GPU_LABEL = {"workload-type": "gpu"}
GPU_TOLERATION = {"key": GPU_TAINT["key"], "operator": "Exists", "effect": GPU_TAINT["effect"]}
SERVICE_PORTS = (8001, 8005)  # the five API services, one port each (SPEC §3)
# Kubernetes' own classes, which no environment's pods may take.
SYSTEM_PRIORITY_CLASSES = ("system-cluster-critical", "system-node-critical")

# Every environment namespace carries its environment's name under this label.
ENVIRONMENT_LABEL = "pingvas.io/environment"
# Every pr-<N> namespace carries this label (set by its tenancy); the previews' shared
# ingress class and the admission rules select namespaces by it.
PREVIEW_LABEL = "pingvas.io/preview"
# Previews (pr-<N>) run on their own Karpenter pools, CPU and GPU (issue 22, item 6): their
# nodes carry this label and taint, preview pods select the label and tolerate the taint,
# and the `pingvas-preview-nodes` admission policy holds both sides to it.
PREVIEW_NODE_LABEL = {PREVIEW_LABEL: "true"}
PREVIEW_TAINT = {"key": PREVIEW_LABEL, "value": "true", "effect": "NoSchedule"}
PREVIEW_TOLERATION = {
    "key": PREVIEW_TAINT["key"],
    "operator": "Equal",
    "value": PREVIEW_TAINT["value"],
    "effect": PREVIEW_TAINT["effect"],
}
# The tag (value: the cluster's name) of the network's security group for preview nodes,
# which the data stores do not admit; the preview EC2NodeClasses select it.
PREVIEW_NODES_TAG = "pingvas.io/preview-nodes"


# The pods of the monitoring stack's Prometheus, which scrapes every namespace.
PROMETHEUS_POD = {"app.kubernetes.io/name": "prometheus"}
# EKS Pod Identity agent (a host-network DaemonSet on every node): without this egress
# no pod gets AWS credentials.
POD_IDENTITY_AGENT = {"cidr": "169.254.170.23/32", "port": 80}

# Log groups that are only kept, for forensics and incident review (flow, WAF, Aurora):
# half Standard's ingestion price; no metric or subscription filters, Live Tail,
# GetLogEvents/FilterLogEvents (read them with Logs Insights). The class cannot change
# once a group exists: a change replaces the group and deletes what it kept (0114).
KEPT_LOGS_CLASS = "INFREQUENT_ACCESS"


@dataclass(frozen=True)
class Placement:
    """Where a workload's pods may run: a nodeSelector and the taints they tolerate."""

    node_selector: Mapping[str, str] = field(default_factory=dict)
    tolerations: tuple[Mapping[str, str], ...] = ()


ANYWHERE = Placement()
ON_PREVIEW_NODES = Placement(PREVIEW_NODE_LABEL, (PREVIEW_TOLERATION,))


def pod_security_labels(level: str) -> dict[str, str]:
    return {f"pod-security.kubernetes.io/{mode}": level for mode in ("enforce", "audit", "warn")}


def pod_identity_agent_egress() -> dict[str, Any]:
    """A NetworkPolicy egress rule to the Pod Identity agent."""
    return {
        "to": [{"ipBlock": {"cidr": POD_IDENTITY_AGENT["cidr"]}}],
        "ports": [{"protocol": "TCP", "port": POD_IDENTITY_AGENT["port"]}],
    }
