"""The monitoring stack (SPEC §7): kube-prometheus-stack (Prometheus, Alertmanager, Grafana,
kube-state-metrics, node exporter) in `monitoring`, the alert rules, scrapes of the
platform's controllers, Grafana's CloudWatch data source and dashboards, and the network
policies that let Prometheus in to what it scrapes and nothing else in."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components import chart_versions
from components.cluster.secret_store import SECRET_STORE, NamespaceSecretStore, SecretStoreArgs
from components.conventions import GPU_TOLERATION, PROMETHEUS_POD, SYSTEM_LABEL
from components.iam import (
    PodIdentityBinding,
    arn,
    bind_service_account,
    partition,
    pod_identity_role,
    policy_document,
)
from components.operations.alert_rules import prometheus_rule_groups
from components.operations.alertmanager import (
    PAGERDUTY_KEY,
    RECEIVERS_SECRET,
    SLACK_WEBHOOK_KEY,
    AlertmanagerSettings,
    alertmanager_config,
)

RELEASE = "kube-prometheus-stack"
GRAFANA_SA = "grafana"
ALERTMANAGER_SA = "alertmanager"
# The label the Prometheus operator puts on Prometheus' pods: the only scraper let in.
DASHBOARDS = Path(__file__).with_name("dashboards")
# Controllers whose metrics Prometheus scrapes from their pods' named ports, and the port
# number (for the network policy where the namespace isolates its pods).
#   name: (namespace, pod labels, port name, port number)
POD_MONITORS: dict[str, tuple[str, dict[str, str], str, int]] = {
    "karpenter": ("karpenter", {"app.kubernetes.io/name": "karpenter"}, "http-metrics", 8080),
    "keda-operator": ("keda", {"app.kubernetes.io/name": "keda-operator"}, "metrics", 8080),
    "keda-metrics-apiserver": (
        "keda",
        {"app.kubernetes.io/name": "keda-operator-metrics-apiserver"},
        "metrics",
        8080,
    ),
    "aws-load-balancer-controller": (
        "kube-system",
        {"app.kubernetes.io/name": "aws-load-balancer-controller"},
        "metrics-server",
        8080,
    ),
    "dcgm-exporter": ("kube-system", {"app.kubernetes.io/name": "dcgm-exporter"}, "metrics", 9400),
}
# Pods that serve nothing but metrics, so isolating them to Prometheus breaks nothing.
# (The KEDA metrics API server and the Load Balancer Controller also serve the API
# server's calls; Karpenter's namespace is isolated by the platform's default deny.)
METRICS_ONLY = ("karpenter", "dcgm-exporter")
# The Prometheus operator's admission webhook, which the API server calls.
OPERATOR_WEBHOOK_PORT = 10250


@dataclass
class MonitoringArgs:
    cluster_name: pulumi.Input[str]
    region: str
    vpc_cidr: str
    namespace: str
    scrape_interval_seconds: int
    retention_days: int
    storage_gi: int
    storage_class: str
    slack_channel: str
    sns_topic_arn: pulumi.Input[str]
    sns_key_arn: pulumi.Input[str]
    # The Secrets Manager secret (JSON with the two receiver keys) External Secrets reads.
    receivers_secret_name: pulumi.Input[str]
    # The platform's namespaces (kube-system included): their monitors keep the targets'
    # own `namespace` labels; every other namespace's (a tenant's) have theirs enforced.
    platform_namespaces: Sequence[str]
    # The External Secrets controller's role, which the namespace's own store trusts.
    external_secrets_role_arn: pulumi.Input[str]
    depends_on: Sequence[pulumi.Resource] = ()


class Monitoring(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pingvas:monitoring:Monitoring", name, None, opts)
        self._name = name
        self._args = args
        on_cluster = pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on))
        receivers = self._receivers_secret(on_cluster)
        identities = [
            self._aws_identity(GRAFANA_SA, grafana_statements()),
            self._aws_identity(
                ALERTMANAGER_SA,
                [
                    {"Effect": "Allow", "Action": "sns:Publish", "Resource": args.sns_topic_arn},
                    {
                        "Effect": "Allow",
                        "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
                        "Resource": args.sns_key_arn,
                    },
                ],
            ),
        ]
        stack = k8s.helm.v3.Release(
            f"{name}-stack",
            name=RELEASE,
            chart=chart_versions.KUBE_PROMETHEUS_STACK.name,
            version=chart_versions.KUBE_PROMETHEUS_STACK.version,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(
                repo=chart_versions.KUBE_PROMETHEUS_STACK.repository
            ),
            namespace=args.namespace,
            values=self._values(),
            opts=pulumi.ResourceOptions.merge(
                on_cluster, pulumi.ResourceOptions(depends_on=[receivers, *identities])
            ),
        )
        after_crds = pulumi.ResourceOptions.merge(
            on_cluster, pulumi.ResourceOptions(depends_on=[stack])
        )
        self._custom_resource(
            "rules",
            "PrometheusRule",
            {"groups": prometheus_rule_groups()},
            after_crds,
        )
        for monitor, (namespace, labels, port, _) in POD_MONITORS.items():
            self._custom_resource(
                monitor,
                "PodMonitor",
                pod_monitor_spec(namespace, labels, port, args.scrape_interval_seconds),
                after_crds,
            )
        for dashboard in sorted(DASHBOARDS.glob("*.json")):
            k8s.core.v1.ConfigMap(
                f"{name}-dashboard-{dashboard.stem}",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=f"dashboard-{dashboard.stem}",
                    namespace=args.namespace,
                    labels={"grafana_dashboard": "1"},
                ),
                data={dashboard.name: dashboard.read_text()},
                opts=on_cluster,
            )
        for policy_name, (namespace, spec) in self.network_policies().items():
            k8s.networking.v1.NetworkPolicy(
                f"{name}-{policy_name}",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=policy_name, namespace=namespace),
                spec=cast(k8s.networking.v1.NetworkPolicySpecArgsDict, spec),
                opts=on_cluster,
            )
        self.register_outputs({})

    def _values(self) -> dict[str, Any]:
        args = self._args
        interval = f"{args.scrape_interval_seconds}s"
        on_system = {"nodeSelector": SYSTEM_LABEL}
        return {
            # EKS runs the control plane: its etcd, scheduler, controller manager and
            # kube-proxy metrics are not reachable, and their rules would only misfire.
            "kubeEtcd": {"enabled": False},
            "kubeControllerManager": {"enabled": False},
            "kubeScheduler": {"enabled": False},
            "kubeProxy": {"enabled": False},
            "defaultRules": {
                "rules": {
                    "etcd": False,
                    "kubeControllerManager": False,
                    "kubeSchedulerAlerting": False,
                    "kubeSchedulerRecording": False,
                    "kubeProxy": False,
                }
            },
            "prometheusOperator": on_system,
            "prometheus": {
                "prometheusSpec": {
                    **on_system,
                    "scrapeInterval": interval,
                    "evaluationInterval": interval,
                    "retention": f"{args.retention_days}d",
                    # Drop the oldest data before the volume fills, not the newest.
                    "retentionSize": f"{int(args.storage_gi * 0.9)}GB",
                    # Select every ServiceMonitor, PodMonitor and rule, not only the chart's.
                    "serviceMonitorSelectorNilUsesHelmValues": False,
                    "podMonitorSelectorNilUsesHelmValues": False,
                    "ruleSelectorNilUsesHelmValues": False,
                    # A tenant's ServiceMonitor may not make Prometheus read its own files
                    # (bearerTokenFile would hand a PR's pod Prometheus's token; TLS key
                    # paths its keys): the operator drops such monitors. Admission refuses
                    # them too (components/cluster/admission.py).
                    "arbitraryFSAccessThroughSMs": {"deny": True},
                    # A tenant's series carry its namespace, whatever its relabelings say,
                    # so it cannot pass its metrics off as another environment's.
                    "enforcedNamespaceLabel": "namespace",
                    "excludedFromEnforcement": [
                        {"group": "monitoring.coreos.com", "resource": kind, "namespace": ns}
                        for ns in args.platform_namespaces
                        for kind in ("servicemonitors", "podmonitors", "probes", "prometheusrules")
                    ],
                    "storageSpec": {
                        "volumeClaimTemplate": {
                            "spec": {
                                "storageClassName": args.storage_class,
                                "accessModes": ["ReadWriteOnce"],
                                "resources": {"requests": {"storage": f"{args.storage_gi}Gi"}},
                            }
                        }
                    },
                }
            },
            "alertmanager": {
                "serviceAccount": {"name": ALERTMANAGER_SA},
                "config": alertmanager_config(
                    AlertmanagerSettings(
                        slack_channel=args.slack_channel,
                        sns_topic_arn=args.sns_topic_arn,
                        region=args.region,
                    )
                ),
                "alertmanagerSpec": {
                    **on_system,
                    "secrets": [RECEIVERS_SECRET],
                    "storage": {
                        "volumeClaimTemplate": {
                            "spec": {
                                "storageClassName": args.storage_class,
                                "accessModes": ["ReadWriteOnce"],
                                "resources": {"requests": {"storage": "2Gi"}},
                            }
                        }
                    },
                },
            },
            "grafana": {
                **on_system,
                "serviceAccount": {"name": GRAFANA_SA},
                "sidecar": {"dashboards": {"enabled": True, "label": "grafana_dashboard"}},
                "additionalDataSources": [
                    {
                        "name": "CloudWatch",
                        "type": "cloudwatch",
                        "uid": "cloudwatch",
                        # The SDK's default chain: Grafana's Pod Identity role.
                        "jsonData": {"authType": "default", "defaultRegion": args.region},
                    }
                ],
            },
            "kube-state-metrics": on_system,
            # Every node, GPU nodes included.
            "prometheus-node-exporter": {"tolerations": [GPU_TOLERATION]},
        }

    def _receivers_secret(self, opts: pulumi.ResourceOptions) -> pulumi.Resource:
        """The receivers' keys, from Secrets Manager through the namespace's own store,
        which reads that one secret (there is no cluster-wide store)."""
        args = self._args
        account = aws.get_caller_identity_output(
            opts=pulumi.InvokeOutputOptions(parent=self)
        ).account_id
        store = NamespaceSecretStore(
            f"{self._name}-secret-store",
            SecretStoreArgs(
                namespace=args.namespace,
                region=args.region,
                controller_role_arn=args.external_secrets_role_arn,
                secret_arns=[
                    arn(
                        partition(self),
                        "secretsmanager",
                        pulumi.Output.concat("secret:", args.receivers_secret_name, "-*"),
                        region=args.region,
                        account=account,
                    )
                ],
                depends_on=list(args.depends_on),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return k8s.apiextensions.CustomResource(
            f"{self._name}-receivers",
            api_version="external-secrets.io/v1",
            kind="ExternalSecret",
            metadata={"name": RECEIVERS_SECRET, "namespace": args.namespace},
            spec={
                "refreshInterval": "1h",
                "secretStoreRef": {"kind": "SecretStore", "name": SECRET_STORE},
                "target": {"name": RECEIVERS_SECRET, "creationPolicy": "Owner"},
                "data": [
                    {
                        "secretKey": key,
                        "remoteRef": {"key": args.receivers_secret_name, "property": key},
                    }
                    for key in (SLACK_WEBHOOK_KEY, PAGERDUTY_KEY)
                ],
            },
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[store])),
        )

    def _aws_identity(
        self, service_account: str, statements: list[dict[str, Any]]
    ) -> pulumi.Resource:
        binding = PodIdentityBinding(
            cluster_name=self._args.cluster_name,
            region=self._args.region,
            namespace=self._args.namespace,
            service_account=service_account,
        )
        role = pod_identity_role(
            f"{self._name}-{service_account}",
            binding=binding,
            policy=policy_document(statements),
            parent=self,
        )
        return bind_service_account(
            f"{self._name}-{service_account}",
            role,
            binding=binding,
            parent=self,
            depends_on=self._args.depends_on,
        )

    def _custom_resource(
        self, name: str, kind: str, spec: dict[str, Any], opts: pulumi.ResourceOptions
    ) -> None:
        k8s.apiextensions.CustomResource(
            f"{self._name}-{name}",
            api_version="monitoring.coreos.com/v1",
            kind=kind,
            metadata={"name": f"pingvas-{name}", "namespace": self._args.namespace},
            spec=spec,
            opts=opts,
        )

    def network_policies(self) -> dict[str, tuple[str, dict[str, Any]]]:
        """name → (namespace, spec): what `monitoring` may send and receive, and Prometheus'
        way in to the metrics-only pods it scrapes elsewhere."""
        args = self._args
        every_pod: dict[str, Any] = {}
        policies: dict[str, tuple[str, dict[str, Any]]] = {
            "monitoring-same-namespace": (
                args.namespace,
                {
                    "podSelector": every_pod,
                    "policyTypes": ["Ingress", "Egress"],
                    "ingress": [{"from": [{"podSelector": every_pod}]}],
                    "egress": [{"to": [{"podSelector": every_pod}]}],
                },
            ),
            "monitoring-dns": (
                args.namespace,
                {
                    "podSelector": every_pod,
                    "policyTypes": ["Egress"],
                    "egress": [
                        {
                            "to": [
                                {
                                    "namespaceSelector": _namespace("kube-system"),
                                    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                                }
                            ],
                            "ports": [
                                {"protocol": "UDP", "port": 53},
                                {"protocol": "TCP", "port": 53},
                            ],
                        }
                    ],
                },
            ),
            # Slack, PagerDuty, SNS, CloudWatch, STS and the Kubernetes API.
            "monitoring-https-out": (
                args.namespace,
                {
                    "podSelector": every_pod,
                    "policyTypes": ["Egress"],
                    "egress": [
                        {
                            "to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}],
                            "ports": [{"protocol": "TCP", "port": 443}],
                        }
                    ],
                },
            ),
            # Prometheus scrapes pods in every namespace and the nodes (kubelet, exporter).
            "prometheus-scrapes": (
                args.namespace,
                {
                    "podSelector": {"matchLabels": PROMETHEUS_POD},
                    "policyTypes": ["Egress"],
                    "egress": [
                        {
                            "to": [
                                {"namespaceSelector": every_pod},
                                {"ipBlock": {"cidr": args.vpc_cidr}},
                            ]
                        }
                    ],
                },
            ),
            "prometheus-operator-webhook": (
                args.namespace,
                {
                    "podSelector": {"matchLabels": {"app": "kube-prometheus-stack-operator"}},
                    "policyTypes": ["Ingress"],
                    "ingress": [
                        {
                            "from": [{"ipBlock": {"cidr": args.vpc_cidr}}],
                            "ports": [{"protocol": "TCP", "port": OPERATOR_WEBHOOK_PORT}],
                        }
                    ],
                },
            ),
        }
        for monitor in METRICS_ONLY:
            namespace, labels, _, port = POD_MONITORS[monitor]
            policies[f"prometheus-in-{monitor}"] = (
                namespace,
                {
                    "podSelector": {"matchLabels": labels},
                    "policyTypes": ["Ingress"],
                    "ingress": [
                        {
                            "from": [
                                {
                                    "namespaceSelector": _namespace(args.namespace),
                                    "podSelector": {"matchLabels": PROMETHEUS_POD},
                                }
                            ],
                            "ports": [{"protocol": "TCP", "port": port}],
                        }
                    ],
                },
            )
        return policies


def _namespace(name: str) -> dict[str, Any]:
    return {"matchLabels": {"kubernetes.io/metadata.name": name}}


def pod_monitor_spec(
    namespace: str, labels: Mapping[str, str], port: str, interval_seconds: int
) -> dict[str, Any]:
    return {
        "namespaceSelector": {"matchNames": [namespace]},
        "selector": {"matchLabels": dict(labels)},
        "podMetricsEndpoints": [
            {"port": port, "path": "/metrics", "interval": f"{interval_seconds}s"}
        ],
    }


def grafana_statements() -> list[dict[str, Any]]:
    """Read-only CloudWatch for Grafana's data source (Aurora, ElastiCache, ALB, SQS, NAT, S3)."""
    return [
        {
            "Effect": "Allow",
            "Action": [
                "cloudwatch:DescribeAlarms",
                "cloudwatch:DescribeAlarmsForMetric",
                "cloudwatch:DescribeAlarmHistory",
                "cloudwatch:GetMetricData",
                "cloudwatch:GetInsightRuleReport",
                "cloudwatch:ListMetrics",
                "logs:DescribeLogGroups",
                "logs:GetLogGroupFields",
                "logs:StartQuery",
                "logs:StopQuery",
                "logs:GetQueryResults",
                "logs:GetLogEvents",
                "ec2:DescribeRegions",
                "ec2:DescribeInstances",
                "ec2:DescribeTags",
                "tag:GetResources",
            ],
            # These read actions support no resource-level permissions.
            "Resource": "*",
        }
    ]
