"""Per-environment tenancy on the shared cluster (SPEC §3, §6): a namespace with Pod
Security labels, quota, defaults, a priority class, network isolation from every other
namespace, and service accounts whose IAM roles reach only the environment's data.
Also the platform's own namespaces."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import pulumi
import pulumi_kubernetes as k8s

from components.monitoring import PROMETHEUS_POD
from components.network import SERVICE_PORTS
from components.pod_identity import bind_service_account, pod_identity_role, policy_document

# Platform namespaces and the Pod Security level each can live with: node exporters
# need host access; Argo CD's repo server needs baseline.
PLATFORM_NAMESPACES = {"argocd": "baseline", "monitoring": "privileged", "karpenter": "restricted"}
DATA_STORE_PORTS = {"postgresql": 5432, "redis": 6379, "nfs": 2049}
API_SERVICE_ACCOUNT = "pingvas-api"
WORKER_SERVICE_ACCOUNT = "pingvas-worker"
# The chart's migration hook: the only pods that see the database's master credentials.
MIGRATIONS_SERVICE_ACCOUNT = "pingvas-migrations"


def pod_security_labels(level: str) -> dict[str, str]:
    return {f"pod-security.kubernetes.io/{mode}": level for mode in ("enforce", "audit", "warn")}


def platform_namespaces(
    provider: k8s.Provider, parent: pulumi.Resource
) -> dict[str, k8s.core.v1.Namespace]:
    return {
        name: k8s.core.v1.Namespace(
            name,
            metadata=k8s.meta.v1.ObjectMetaArgs(name=name, labels=pod_security_labels(level)),
            opts=pulumi.ResourceOptions(parent=parent, provider=provider),
        )
        for name, level in PLATFORM_NAMESPACES.items()
    }


@dataclass
class TenancyArgs:
    namespace: str
    kubernetes_provider: k8s.Provider
    cluster_name: pulumi.Input[str]
    vpc_cidr: pulumi.Input[str]
    # Where the ALB's nodes live: the only source of traffic to the service ports.
    load_balancer_cidrs: pulumi.Input[Sequence[pulumi.Input[str]]]
    quota_cpu: int | float
    quota_memory: str
    quota_gpu: int
    quota_pods: int
    priority_class_name: str
    priority_value: int
    images_bucket_arn: pulumi.Input[str]
    # The environment's secrets (database, Redis, application).
    secret_arns: pulumi.Input[Sequence[pulumi.Input[str]]]
    models_file_system_arn: pulumi.Input[str]
    # Aurora's master secret, which the migration hook needs to create the app's role.
    database_master_secret_arn: pulumi.Input[str]
    region: str
    labels: Mapping[str, str] = field(default_factory=dict)


class Tenancy(pulumi.ComponentResource):
    namespace: pulumi.Output[str]
    api_role_arn: pulumi.Output[str]
    worker_role_arn: pulumi.Output[str]
    migrations_role_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: TenancyArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pingvas:tenancy:Tenancy", name, None, opts)
        self._name = name
        self._args = args
        on_cluster = pulumi.ResourceOptions(parent=self, provider=args.kubernetes_provider)

        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=args.namespace,
                labels={**args.labels, **pod_security_labels("restricted")},
            ),
            opts=on_cluster,
        )
        self.namespace = namespace.metadata.name
        in_namespace = pulumi.ResourceOptions(
            parent=self, provider=args.kubernetes_provider, depends_on=[namespace]
        )
        k8s.core.v1.ResourceQuota(
            f"{name}-quota",
            metadata=self._metadata("quota"),
            spec=k8s.core.v1.ResourceQuotaSpecArgs(
                hard={
                    "requests.cpu": str(args.quota_cpu),
                    "requests.memory": args.quota_memory,
                    "requests.nvidia.com/gpu": str(args.quota_gpu),
                    "pods": str(args.quota_pods),
                }
            ),
            opts=in_namespace,
        )
        k8s.core.v1.LimitRange(
            f"{name}-defaults",
            metadata=self._metadata("defaults"),
            spec=k8s.core.v1.LimitRangeSpecArgs(
                limits=[
                    k8s.core.v1.LimitRangeItemArgs(
                        type="Container",
                        default_request={"cpu": "100m", "memory": "128Mi"},
                        default={"memory": "512Mi"},
                    )
                ]
            ),
            opts=in_namespace,
        )
        k8s.scheduling.v1.PriorityClass(
            f"{name}-priority",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=args.priority_class_name),
            value=args.priority_value,
            global_default=False,
            description=f"Workloads of the {args.namespace} environment",
            opts=on_cluster,
        )
        for policy_name, spec in self._network_policies().items():
            k8s.networking.v1.NetworkPolicy(
                f"{name}-{policy_name}",
                metadata=self._metadata(policy_name),
                spec=cast(k8s.networking.v1.NetworkPolicySpecArgsDict, spec),
                opts=in_namespace,
            )
        self.api_role_arn = self._service_account(
            API_SERVICE_ACCOUNT, self._api_statements(), in_namespace
        )
        self.worker_role_arn = self._service_account(
            WORKER_SERVICE_ACCOUNT, self._worker_statements(), in_namespace
        )
        self.migrations_role_arn = self._service_account(
            MIGRATIONS_SERVICE_ACCOUNT, self._migrations_statements(), in_namespace
        )
        self.register_outputs(
            {
                "namespace": self.namespace,
                "api_role_arn": self.api_role_arn,
                "worker_role_arn": self.worker_role_arn,
                "migrations_role_arn": self.migrations_role_arn,
            }
        )

    def _metadata(self, name: str) -> k8s.meta.v1.ObjectMetaArgs:
        return k8s.meta.v1.ObjectMetaArgs(name=name, namespace=self._args.namespace)

    def _network_policies(self) -> dict[str, dict[str, Any]]:
        """Deny by default; then this namespace, DNS, the data stores, HTTPS out, the ALB
        and Prometheus. Nothing reaches or leaves for another environment's namespace."""
        args = self._args
        every_pod: dict[str, Any] = {}
        tcp = [{"protocol": "TCP", "port": port} for port in DATA_STORE_PORTS.values()]
        return {
            "default-deny": {"podSelector": every_pod, "policyTypes": ["Ingress", "Egress"]},
            "same-namespace": {
                "podSelector": every_pod,
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [{"from": [{"podSelector": every_pod}]}],
                "egress": [{"to": [{"podSelector": every_pod}]}],
            },
            "dns": {
                "podSelector": every_pod,
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [
                            {
                                "namespaceSelector": {
                                    "matchLabels": {"kubernetes.io/metadata.name": "kube-system"}
                                },
                                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                            }
                        ],
                        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                    }
                ],
            },
            "data-stores": {
                "podSelector": every_pod,
                "policyTypes": ["Egress"],
                "egress": [{"to": [{"ipBlock": {"cidr": args.vpc_cidr}}], "ports": tcp}],
            },
            "https-out": {
                "podSelector": every_pod,
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        # Outside the VPC only: other namespaces' pods have VPC addresses.
                        "to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": [args.vpc_cidr]}}],
                        "ports": [{"protocol": "TCP", "port": 443}],
                    }
                ],
            },
            "load-balancer-in": {
                "podSelector": every_pod,
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": pulumi.Output.from_input(args.load_balancer_cidrs).apply(
                            lambda cidrs: [{"ipBlock": {"cidr": cidr}} for cidr in cidrs]
                        ),
                        "ports": [
                            {
                                "protocol": "TCP",
                                "port": SERVICE_PORTS[0],
                                "endPort": SERVICE_PORTS[1],
                            }
                        ],
                    }
                ],
            },
            # KEDA's operator reads the job streams' lag from in-cluster Redis.
            "keda-in": {
                "podSelector": every_pod,
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [
                            {
                                "namespaceSelector": {
                                    "matchLabels": {"kubernetes.io/metadata.name": "keda"}
                                }
                            }
                        ],
                        "ports": [{"protocol": "TCP", "port": DATA_STORE_PORTS["redis"]}],
                    }
                ],
            },
            # Prometheus only: not Grafana, Fluent Bit or anything else in `monitoring`.
            "monitoring-in": {
                "podSelector": every_pod,
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [
                            {
                                "namespaceSelector": {
                                    "matchLabels": {"kubernetes.io/metadata.name": "monitoring"}
                                },
                                "podSelector": {"matchLabels": PROMETHEUS_POD},
                            }
                        ]
                    }
                ],
            },
        }

    def _api_statements(self) -> list[dict[str, Any]]:
        args = self._args
        return [
            self._secrets_statement(),
            # Deleting an image removes every version of it from the versioned bucket.
            {
                "Effect": "Allow",
                "Action": [
                    "s3:GetObject",
                    "s3:PutObject",
                    "s3:DeleteObject",
                    "s3:DeleteObjectVersion",
                ],
                "Resource": pulumi.Output.concat(args.images_bucket_arn, "/*"),
            },
            {
                "Effect": "Allow",
                "Action": ["s3:ListBucket", "s3:ListBucketVersions"],
                "Resource": args.images_bucket_arn,
            },
        ]

    def _worker_statements(self) -> list[dict[str, Any]]:
        args = self._args
        return [
            self._secrets_statement(),
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": pulumi.Output.concat(args.images_bucket_arn, "/*"),
            },
            # Mount, never write: models are published by the platform, not by workers.
            {
                "Effect": "Allow",
                "Action": "elasticfilesystem:ClientMount",
                "Resource": args.models_file_system_arn,
            },
        ]

    def _migrations_statements(self) -> list[dict[str, Any]]:
        args = self._args
        return [
            self._secrets_statement(),
            {
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": args.database_master_secret_arn,
            },
            {
                # The master secret is under Aurora's key: decrypt through Secrets Manager only.
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": "*",
                "Condition": {
                    "StringEquals": {
                        "kms:ViaService": f"secretsmanager.{args.region}.amazonaws.com"
                    }
                },
            },
        ]

    def _secrets_statement(self) -> dict[str, Any]:
        return {
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": self._args.secret_arns,
        }

    def _service_account(
        self,
        account: str,
        statements: list[dict[str, Any]],
        in_namespace: pulumi.ResourceOptions,
    ) -> pulumi.Output[str]:
        service_account = k8s.core.v1.ServiceAccount(
            f"{self._name}-{account}",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=account, namespace=self._args.namespace),
            automount_service_account_token=False,
            opts=in_namespace,
        )
        role = pod_identity_role(
            f"{self._name}-{account}",
            service_account=account,
            policy=policy_document(statements),
            parent=self,
        )
        bind_service_account(
            f"{self._name}-{account}",
            role,
            cluster_name=self._args.cluster_name,
            namespace=self._args.namespace,
            service_account=account,
            parent=self,
            depends_on=[service_account],
        )
        return role.arn
