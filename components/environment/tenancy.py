"""Per-environment tenancy on the shared cluster (SPEC §3, §6; issue 12): a namespace with
Pod Security labels, quota (no LoadBalancer or NodePort Services, no other environment's
priority class: the classes are the platform's, components/delivery/deployers.py), defaults,
network isolation from every other namespace, its own External Secrets store, and
service accounts whose Pod Identity roles reach only the environment's data.

The roles' permissions name the data layer's resources, so they are attached after it
exists (`Tenancy.grant`): the namespace comes first, with nothing to wait for."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from app.chart_capacity import CONTAINER_DEFAULT_REQUEST
from components.cluster.secret_store import NamespaceSecretStore, SecretStoreArgs
from components.conventions import (
    PROMETHEUS_POD,
    SERVICE_PORTS,
    SYSTEM_PRIORITY_CLASSES,
    pod_identity_agent_egress,
    pod_security_labels,
)
from components.iam import (
    PodIdentityBinding,
    arn,
    bind_service_account,
    partition,
    pod_identity_role,
    policy_document,
)

DATA_STORE_PORTS = {"postgresql": 5432, "redis": 6379, "nfs": 2049}
API_SERVICE_ACCOUNT = "pingvas-api"
WORKER_SERVICE_ACCOUNT = "pingvas-worker"
# The chart's migration hook: the only pods that see the schema owner's credentials.
MIGRATIONS_SERVICE_ACCOUNT = "pingvas-migrations"


@dataclass
class TenancyArgs:
    namespace: str
    cluster_name: pulumi.Input[str]
    vpc_cidr: pulumi.Input[str]
    # Where the data stores live: the only destinations of data-store egress.
    data_subnet_cidrs: pulumi.Input[Sequence[pulumi.Input[str]]]
    # Where the ALB's nodes live: the only source of traffic to the service ports.
    load_balancer_cidrs: pulumi.Input[Sequence[pulumi.Input[str]]]
    quota_cpu: int | float
    quota_memory: str
    quota_gpu: int
    quota_pods: int
    # Other environments' priority classes, which this namespace's pods may not use.
    foreign_priority_classes: Sequence[str]
    region: str
    # The External Secrets controller's role; the namespace's store reads only
    # `<secret_name_prefix>-*`.
    external_secrets_role_arn: pulumi.Input[str]
    secret_name_prefix: str
    # Secrets under the prefix the store may not read (e.g. a preview's own PostgreSQL
    # superuser, for the migration hook alone).
    store_denied_secret_names: Sequence[str] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    # A deployer whose rights in the namespace come from RoleBindings made here (a
    # preview's, components/delivery/deployers.py): its username and the ClusterRoles.
    deployer_user: str | None = None
    deployer_roles: Sequence[str] = ()


@dataclass(frozen=True)
class TenancyAccess:
    """The data layer's resources the environment's service accounts reach."""

    images_bucket_arn: pulumi.Input[str]
    # The API's and the workers' database secrets (DATABASE_URL, ...), read here by the
    # migration hook alone.
    database_secret_arn: pulumi.Input[str]
    worker_database_secret_arn: pulumi.Input[str]
    models_file_system_arn: pulumi.Input[str]
    # The platform's schema-owner secret for this environment (long-lived ones only).
    schema_owner_secret_arn: pulumi.Input[str] | None
    # The image CDN, whose cache the API invalidates when an image is deleted (None: no
    # CDN, pr-<N>).
    cdn_distribution_arn: pulumi.Input[str] | None = None


class Tenancy(pulumi.ComponentResource):
    namespace: pulumi.Output[str]
    api_role_arn: pulumi.Output[str]
    worker_role_arn: pulumi.Output[str]
    migrations_role_arn: pulumi.Output[str]
    secret_store_role_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: TenancyArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pingvas:tenancy:Tenancy", name, None, opts)
        self._name = name
        self._args = args
        self._partition = partition(self)
        on_cluster = pulumi.ResourceOptions(parent=self)

        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=args.namespace,
                labels={**args.labels, **pod_security_labels("restricted")},
            ),
            opts=on_cluster,
        )
        bindings = (
            self._deployer_bindings(name, namespace, args.deployer_user)
            if args.deployer_user
            else []
        )
        # Everything in the namespace waits for the deployer's own rights there.
        self.namespace = pulumi.Output.all(
            namespace.metadata.name, *(b.metadata.name for b in bindings)
        ).apply(lambda names: str(names[0]))
        in_namespace = pulumi.ResourceOptions(parent=self, depends_on=[namespace, *bindings])
        k8s.core.v1.ResourceQuota(
            f"{name}-quota",
            metadata=self._metadata("quota"),
            spec=k8s.core.v1.ResourceQuotaSpecArgs(
                hard={
                    "requests.cpu": str(args.quota_cpu),
                    "requests.memory": args.quota_memory,
                    "requests.nvidia.com/gpu": str(args.quota_gpu),
                    "pods": str(args.quota_pods),
                    # Traffic enters through the WAF-guarded ALB (Ingress) only.
                    "services.loadbalancers": "0",
                    "services.nodeports": "0",
                }
            ),
            opts=in_namespace,
        )
        k8s.core.v1.ResourceQuota(
            f"{name}-foreign-priorities",
            metadata=self._metadata("foreign-priorities"),
            spec=k8s.core.v1.ResourceQuotaSpecArgs(
                hard={"pods": "0"},
                scope_selector=k8s.core.v1.ScopeSelectorArgs(
                    match_expressions=[
                        k8s.core.v1.ScopedResourceSelectorRequirementArgs(
                            scope_name="PriorityClass",
                            operator="In",
                            values=[*args.foreign_priority_classes, *SYSTEM_PRIORITY_CLASSES],
                        )
                    ]
                ),
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
                        default_request=dict(CONTAINER_DEFAULT_REQUEST),
                        default={"memory": "512Mi"},
                    )
                ]
            ),
            opts=in_namespace,
        )
        for policy_name, spec in self._network_policies().items():
            k8s.networking.v1.NetworkPolicy(
                f"{name}-{policy_name}",
                metadata=self._metadata(policy_name),
                spec=cast(k8s.networking.v1.NetworkPolicySpecArgsDict, spec),
                opts=in_namespace,
            )
        self._roles = {
            account: self._service_account(account, in_namespace)
            for account in (API_SERVICE_ACCOUNT, WORKER_SERVICE_ACCOUNT, MIGRATIONS_SERVICE_ACCOUNT)
        }
        self.api_role_arn = self._roles[API_SERVICE_ACCOUNT].arn
        self.worker_role_arn = self._roles[WORKER_SERVICE_ACCOUNT].arn
        self.migrations_role_arn = self._roles[MIGRATIONS_SERVICE_ACCOUNT].arn
        store = NamespaceSecretStore(
            f"{name}-secret-store",
            SecretStoreArgs(
                namespace=args.namespace,
                region=args.region,
                controller_role_arn=args.external_secrets_role_arn,
                secret_arns=[self._secret_arn(f"{args.secret_name_prefix}-*")],
                denied_secret_arns=[
                    self._secret_arn(f"{secret}-*") for secret in args.store_denied_secret_names
                ],
                depends_on=[namespace, *bindings],
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.secret_store_role_arn = store.role_arn
        self.register_outputs(
            {
                "namespace": self.namespace,
                "api_role_arn": self.api_role_arn,
                "worker_role_arn": self.worker_role_arn,
                "migrations_role_arn": self.migrations_role_arn,
                "secret_store_role_arn": self.secret_store_role_arn,
            }
        )

    def _deployer_bindings(
        self, name: str, namespace: k8s.core.v1.Namespace, user: str
    ) -> list[k8s.rbac.v1.RoleBinding]:
        rbac = "rbac.authorization.k8s.io"
        return [
            k8s.rbac.v1.RoleBinding(
                f"{name}-deployer-{role}",
                metadata=self._metadata(f"deployer-{role}"),
                role_ref=k8s.rbac.v1.RoleRefArgs(api_group=rbac, kind="ClusterRole", name=role),
                subjects=[k8s.rbac.v1.SubjectArgs(api_group=rbac, kind="User", name=user)],
                opts=pulumi.ResourceOptions(parent=self, depends_on=[namespace]),
            )
            for role in self._args.deployer_roles
        ]

    def _secret_arn(self, pattern: str) -> pulumi.Output[str]:
        account = aws.get_caller_identity_output(
            opts=pulumi.InvokeOutputOptions(parent=self)
        ).account_id
        return arn(
            self._partition,
            "secretsmanager",
            f"secret:{pattern}",
            region=self._args.region,
            account=account,
        )

    def grant(self, access: TenancyAccess) -> None:
        """Each service account's permissions, once the data layer exists: only the
        secrets and objects that account uses."""
        statements = {
            API_SERVICE_ACCOUNT: self._api_statements(access),
            WORKER_SERVICE_ACCOUNT: self._worker_statements(access),
            MIGRATIONS_SERVICE_ACCOUNT: self._migrations_statements(access),
        }
        for account, role in self._roles.items():
            aws.iam.RolePolicy(
                f"{self._name}-{account}",
                role=role.id,
                policy=policy_document(statements[account]),
                opts=pulumi.ResourceOptions(parent=self),
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
                "egress": [
                    {
                        "to": pulumi.Output.from_input(args.data_subnet_cidrs).apply(
                            lambda cidrs: [{"ipBlock": {"cidr": cidr}} for cidr in cidrs]
                        ),
                        "ports": tcp,
                    }
                ],
            },
            # Without it no pod gets AWS credentials.
            "pod-identity-agent": {
                "podSelector": every_pod,
                "policyTypes": ["Egress"],
                "egress": [pod_identity_agent_egress()],
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

    def _api_statements(self, access: TenancyAccess) -> list[dict[str, Any]]:
        cdn = (
            []
            if access.cdn_distribution_arn is None
            else [
                {
                    # A deleted image leaves the CDN's caches at once.
                    "Effect": "Allow",
                    "Action": "cloudfront:CreateInvalidation",
                    "Resource": access.cdn_distribution_arn,
                }
            ]
        )
        # No Secrets Manager read here or in the worker's: their secrets arrive through
        # the namespace's External Secrets store, as Kubernetes Secrets.
        return [
            *cdn,
            # Deleting an image removes its current version; the bucket's lifecycle
            # expires the noncurrent ones (no s3:DeleteObjectVersion: no erasing history).
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                "Resource": pulumi.Output.concat(access.images_bucket_arn, "/*"),
            },
            {
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": access.images_bucket_arn,
            },
        ]

    def _worker_statements(self, access: TenancyAccess) -> list[dict[str, Any]]:
        return [
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": pulumi.Output.concat(access.images_bucket_arn, "/*"),
            },
            # Mount, never write: models are published by the platform, not by workers.
            {
                "Effect": "Allow",
                "Action": "elasticfilesystem:ClientMount",
                "Resource": access.models_file_system_arn,
            },
        ]

    def _migrations_statements(self, access: TenancyAccess) -> list[dict[str, Any]]:
        secrets = [access.database_secret_arn, access.worker_database_secret_arn]
        if access.schema_owner_secret_arn is not None:
            secrets.append(access.schema_owner_secret_arn)
        return [self._read_secrets(secrets)]

    @staticmethod
    def _read_secrets(arns: Sequence[pulumi.Input[str]]) -> dict[str, Any]:
        return {
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": list(arns),
        }

    def _service_account(self, account: str, in_namespace: pulumi.ResourceOptions) -> aws.iam.Role:
        service_account = k8s.core.v1.ServiceAccount(
            f"{self._name}-{account}",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=account, namespace=self._args.namespace),
            automount_service_account_token=False,
            opts=in_namespace,
        )
        binding = PodIdentityBinding(
            cluster_name=self._args.cluster_name,
            region=self._args.region,
            namespace=self._args.namespace,
            service_account=account,
        )
        role = pod_identity_role(f"{self._name}-{account}", binding=binding, parent=self)
        bind_service_account(
            f"{self._name}-{account}",
            role,
            binding=binding,
            parent=self,
            depends_on=[service_account],
        )
        return role
