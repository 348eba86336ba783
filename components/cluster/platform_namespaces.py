"""The platform's own namespaces (issue 12, guarantee 7): created by the program, never by
a Helm `createNamespace`, each with a Pod Security level and a default-deny
NetworkPolicy plus exactly what its add-on needs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import pulumi
import pulumi_kubernetes as k8s

from components.conventions import pod_identity_agent_egress, pod_security_labels

DNS_PORT = 53
HTTPS_PORT = 443
POSTGRESQL_PORT = 5432
REDIS_PORT = 6379


@dataclass(frozen=True)
class PlatformNamespace:
    # Pod Security Standard the namespace enforces.
    level: str
    # Ports the API server calls (admission webhooks, aggregated APIs).
    webhook_ports: Sequence[int] = ()
    # Extra egress: "vpc:<port>" to the VPC, "data:<port>" to the data subnets,
    # "cluster" to every port in the VPC (scrapes).
    egress: Sequence[str] = ()
    labels: Mapping[str, str] = field(default_factory=dict)


# Why each level: node exporters read host metrics (privileged); Argo CD's repo server
# runs git and helm with a writable home (baseline); the rest run as non-root with no
# privileges (restricted).
PLATFORM_NAMESPACES: dict[str, PlatformNamespace] = {
    "argocd": PlatformNamespace("baseline", egress=["vpc:22"]),
    "monitoring": PlatformNamespace("privileged", webhook_ports=[10250], egress=["cluster"]),
    "karpenter": PlatformNamespace("restricted", webhook_ports=[8443]),
    # KEDA reads the job streams' lag: ElastiCache and in-cluster Redis pods both live in
    # the private (data) subnets.
    "keda": PlatformNamespace(
        "restricted", webhook_ports=[6443, 9443], egress=[f"data:{REDIS_PORT}"]
    ),
    "external-secrets": PlatformNamespace("restricted", webhook_ports=[10250]),
    "database-admin": PlatformNamespace("restricted", egress=[f"data:{POSTGRESQL_PORT}"]),
}


def platform_namespaces(
    provider: k8s.Provider,
    parent: pulumi.Resource,
    *,
    vpc_cidr: str,
    data_subnet_cidrs: Sequence[str],
) -> dict[str, k8s.core.v1.Namespace]:
    created = {}
    for name, settings in PLATFORM_NAMESPACES.items():
        namespace = k8s.core.v1.Namespace(
            name,
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=name,
                labels={**settings.labels, **pod_security_labels(settings.level)},
            ),
            opts=pulumi.ResourceOptions(parent=parent, provider=provider),
        )
        in_namespace = pulumi.ResourceOptions(
            parent=parent, provider=provider, depends_on=[namespace]
        )
        for policy, spec in network_policies(settings, vpc_cidr, data_subnet_cidrs).items():
            k8s.networking.v1.NetworkPolicy(
                f"{name}-{policy}",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=policy, namespace=name),
                spec=cast(k8s.networking.v1.NetworkPolicySpecArgsDict, spec),
                opts=in_namespace,
            )
        created[name] = namespace
    return created


def network_policies(
    settings: PlatformNamespace, vpc_cidr: str, data_subnet_cidrs: Sequence[str]
) -> dict[str, dict[str, Any]]:
    every_pod: dict[str, Any] = {}
    egress: list[dict[str, Any]] = [
        {"to": [{"podSelector": every_pod}]},
        {
            "to": [
                {
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": "kube-system"}
                    },
                    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                }
            ],
            "ports": [{"protocol": "UDP", "port": DNS_PORT}, {"protocol": "TCP", "port": DNS_PORT}],
        },
        pod_identity_agent_egress(),
        # AWS APIs and the cluster's API server.
        {
            "to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}],
            "ports": [{"protocol": "TCP", "port": HTTPS_PORT}],
        },
    ]
    for extra in settings.egress:
        if extra == "cluster":
            egress.append({"to": [{"ipBlock": {"cidr": vpc_cidr}}]})
            continue
        where, port = extra.split(":")
        cidrs = [vpc_cidr] if where == "vpc" else list(data_subnet_cidrs)
        egress.append(
            {
                "to": [{"ipBlock": {"cidr": cidr}} for cidr in cidrs],
                "ports": [{"protocol": "TCP", "port": int(port)}],
            }
        )
    ingress: list[dict[str, Any]] = [
        {"from": [{"podSelector": every_pod}]},
        {
            "from": [
                {
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": "monitoring"}
                    }
                }
            ]
        },
    ]
    if settings.webhook_ports:
        # The control plane's ENIs live in the VPC.
        ingress.append(
            {
                "from": [{"ipBlock": {"cidr": vpc_cidr}}],
                "ports": [{"protocol": "TCP", "port": port} for port in settings.webhook_ports],
            }
        )
    return {
        "default-deny": {"podSelector": every_pod, "policyTypes": ["Ingress", "Egress"]},
        "platform-allowed": {
            "podSelector": every_pod,
            "policyTypes": ["Ingress", "Egress"],
            "ingress": ingress,
            "egress": egress,
        },
    }
