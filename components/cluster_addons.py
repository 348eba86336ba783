"""Cluster add-ons installed with Helm (versions in `chart_versions`): the NVIDIA device
plugin and DCGM exporter on GPU nodes, the AWS Load Balancer Controller, KEDA and
metrics-server on the system nodes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components import chart_versions
from components.chart_versions import Chart
from components.cluster import SYSTEM_LABEL
from components.karpenter import GPU_LABEL, GPU_TAINT
from components.pod_identity import bind_service_account, pod_identity_role, policy_document

GPU_TOLERATION = {"key": GPU_TAINT["key"], "operator": "Exists", "effect": GPU_TAINT["effect"]}
# Only GPU nodes: the device plugin and exporter have nothing to do elsewhere. (The
# device plugin's default affinity also wants `nvidia.com/gpu.present`, which the GPU
# NodePool sets, as we run no Node Feature Discovery.)
ON_GPU_NODES = {"nodeSelector": GPU_LABEL, "tolerations": [GPU_TOLERATION]}
LOAD_BALANCER_CONTROLLER_SA = "aws-load-balancer-controller"
EXTERNAL_SECRETS_SA = "external-secrets"
# The store the app chart's ExternalSecrets name.
SECRET_STORE = "aws-secrets-manager"  # noqa: S105 (a name, not a secret)
# Every secret the stacks create is named pingvas-<stack>-<thing>.
SECRET_NAME_PATTERN = "pingvas-*"  # noqa: S105 (a name pattern)


@dataclass
class ClusterAddonsArgs:
    cluster_name: str
    region: str
    vpc_id: pulumi.Input[str]
    kubernetes_provider: k8s.Provider
    depends_on: Sequence[pulumi.Resource] = ()


class ClusterAddons(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: ClusterAddonsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pingvas:cluster:Addons", name, None, opts)
        self._name = name
        self._args = args

        self._release(
            "nvidia-device-plugin", chart_versions.NVIDIA_DEVICE_PLUGIN, "kube-system", ON_GPU_NODES
        )
        self._release(
            "dcgm-exporter",
            chart_versions.DCGM_EXPORTER,
            "kube-system",
            {**ON_GPU_NODES, "serviceMonitor": {"enabled": False}},
        )
        role = pod_identity_role(
            f"{name}-load-balancer-controller",
            service_account=LOAD_BALANCER_CONTROLLER_SA,
            policy=load_balancer_controller_policy(args.region),
            parent=self,
        )
        association = bind_service_account(
            f"{name}-load-balancer-controller",
            role,
            cluster_name=args.cluster_name,
            namespace="kube-system",
            service_account=LOAD_BALANCER_CONTROLLER_SA,
            parent=self,
            depends_on=args.depends_on,
        )
        self._release(
            "aws-load-balancer-controller",
            chart_versions.AWS_LOAD_BALANCER_CONTROLLER,
            "kube-system",
            {
                "clusterName": args.cluster_name,
                "region": args.region,
                "vpcId": args.vpc_id,
                "replicaCount": 2,
                "serviceAccount": {"create": True, "name": LOAD_BALANCER_CONTROLLER_SA},
                "nodeSelector": SYSTEM_LABEL,
                # We publish no Services of type LoadBalancer; without the webhook, Service
                # creation does not depend on the controller being up.
                "enableServiceMutatorWebhook": False,
            },
            extra_depends_on=[association],
        )
        self._release(
            "keda",
            chart_versions.KEDA,
            "keda",
            {
                "nodeSelector": SYSTEM_LABEL,
                # Metrics on the pods' `metrics` port; the monitoring stack's PodMonitors
                # scrape them (the chart's own ServiceMonitors would need its CRDs first).
                "prometheus": {"operator": {"enabled": True}, "metricServer": {"enabled": True}},
            },
            create_namespace=True,
        )
        self._external_secrets()
        self._release(
            "metrics-server",
            chart_versions.METRICS_SERVER,
            "kube-system",
            {"nodeSelector": SYSTEM_LABEL, "replicas": 2},
        )
        self.register_outputs({})

    def _external_secrets(self) -> None:
        """External Secrets Operator, and the store through which pods get the
        environments' Secrets Manager values as Kubernetes Secrets."""
        args = self._args
        account = aws.get_caller_identity_output(
            opts=pulumi.InvokeOutputOptions(parent=self)
        ).account_id
        secrets = pulumi.Output.concat(
            f"arn:aws:secretsmanager:{args.region}:", account, f":secret:{SECRET_NAME_PATTERN}"
        )
        role = pod_identity_role(
            f"{self._name}-external-secrets",
            service_account=EXTERNAL_SECRETS_SA,
            policy=policy_document(
                [
                    {
                        "Effect": "Allow",
                        "Action": [
                            "secretsmanager:GetSecretValue",
                            "secretsmanager:DescribeSecret",
                        ],
                        "Resource": secrets,
                    },
                    {
                        # Secrets under a customer key decrypt only through Secrets Manager.
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
            ),
            parent=self,
        )
        association = bind_service_account(
            f"{self._name}-external-secrets",
            role,
            cluster_name=args.cluster_name,
            namespace="external-secrets",
            service_account=EXTERNAL_SECRETS_SA,
            parent=self,
            depends_on=args.depends_on,
        )
        operator = self._release(
            "external-secrets",
            chart_versions.EXTERNAL_SECRETS,
            "external-secrets",
            {
                "installCRDs": True,
                "serviceAccount": {"create": True, "name": EXTERNAL_SECRETS_SA},
                "nodeSelector": SYSTEM_LABEL,
                "webhook": {"nodeSelector": SYSTEM_LABEL},
                "certController": {"nodeSelector": SYSTEM_LABEL},
            },
            create_namespace=True,
            extra_depends_on=[association],
        )
        k8s.apiextensions.CustomResource(
            f"{self._name}-secret-store",
            api_version="external-secrets.io/v1",
            kind="ClusterSecretStore",
            metadata={"name": SECRET_STORE},
            spec={
                "provider": {"aws": {"service": "SecretsManager", "region": args.region}},
            },
            opts=pulumi.ResourceOptions(
                parent=self, provider=args.kubernetes_provider, depends_on=[operator]
            ),
        )

    def _release(
        self,
        release_name: str,
        chart: Chart,
        namespace: str,
        values: dict[str, Any],
        *,
        create_namespace: bool = False,
        extra_depends_on: Sequence[pulumi.Resource] = (),
    ) -> k8s.helm.v3.Release:
        return k8s.helm.v3.Release(
            f"{self._name}-{release_name}",
            name=release_name,
            chart=chart.name,
            version=chart.version,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=chart.repository),
            namespace=namespace,
            create_namespace=create_namespace,
            values=values,
            opts=pulumi.ResourceOptions(
                parent=self,
                provider=self._args.kubernetes_provider,
                depends_on=[*self._args.depends_on, *extra_depends_on],
            ),
        )


def load_balancer_controller_policy(region: str) -> pulumi.Output[str]:
    """What the controller needs to run ALBs and NLBs for Ingresses and Services.

    Writes are limited to load balancers, target groups and security groups carrying the
    controller's `elbv2.k8s.aws/cluster` tag, which it sets on everything it creates.
    """
    managed = {"Null": {"aws:ResourceTag/elbv2.k8s.aws/cluster": "false"}}
    created_here = {"Null": {"aws:RequestTag/elbv2.k8s.aws/cluster": "false"}}
    elb = f"arn:aws:elasticloadbalancing:{region}:*"
    balancers_and_groups = [
        f"{elb}:targetgroup/*/*",
        f"{elb}:loadbalancer/net/*/*",
        f"{elb}:loadbalancer/app/*/*",
    ]
    return policy_document(
        [
            {
                "Sid": "CreateTheElbServiceLinkedRole",
                "Effect": "Allow",
                "Action": "iam:CreateServiceLinkedRole",
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}
                },
            },
            {
                "Sid": "Discover",
                "Effect": "Allow",
                "Action": [
                    "ec2:DescribeAccountAttributes",
                    "ec2:DescribeAddresses",
                    "ec2:DescribeAvailabilityZones",
                    "ec2:DescribeInternetGateways",
                    "ec2:DescribeVpcs",
                    "ec2:DescribeVpcPeeringConnections",
                    "ec2:DescribeSubnets",
                    "ec2:DescribeSecurityGroups",
                    "ec2:DescribeInstances",
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DescribeTags",
                    "ec2:DescribeCoipPools",
                    "ec2:DescribeRouteTables",
                    "ec2:GetCoipPoolUsage",
                    "ec2:GetSecurityGroupsForVpc",
                    "ec2:DescribeIpamPools",
                    "elasticloadbalancing:DescribeLoadBalancers",
                    "elasticloadbalancing:DescribeLoadBalancerAttributes",
                    "elasticloadbalancing:DescribeListeners",
                    "elasticloadbalancing:DescribeListenerCertificates",
                    "elasticloadbalancing:DescribeListenerAttributes",
                    "elasticloadbalancing:DescribeSSLPolicies",
                    "elasticloadbalancing:DescribeRules",
                    "elasticloadbalancing:DescribeTargetGroups",
                    "elasticloadbalancing:DescribeTargetGroupAttributes",
                    "elasticloadbalancing:DescribeTargetHealth",
                    "elasticloadbalancing:DescribeTags",
                    "elasticloadbalancing:DescribeTrustStores",
                    "elasticloadbalancing:DescribeCapacityReservation",
                ],
                "Resource": "*",
            },
            {
                "Sid": "ReadCertificatesAndProtections",
                "Effect": "Allow",
                "Action": [
                    "cognito-idp:DescribeUserPoolClient",
                    "acm:ListCertificates",
                    "acm:DescribeCertificate",
                    "iam:ListServerCertificates",
                    "iam:GetServerCertificate",
                    "waf-regional:GetWebACL",
                    "waf-regional:GetWebACLForResource",
                    "waf-regional:AssociateWebACL",
                    "waf-regional:DisassociateWebACL",
                    "wafv2:GetWebACL",
                    "wafv2:GetWebACLForResource",
                    "wafv2:AssociateWebACL",
                    "wafv2:DisassociateWebACL",
                    "shield:GetSubscriptionState",
                    "shield:DescribeProtection",
                    "shield:CreateProtection",
                    "shield:DeleteProtection",
                ],
                "Resource": "*",
            },
            {
                # The controller opens the nodes' groups to its load balancers' group.
                "Sid": "OpenBackendSecurityGroups",
                "Effect": "Allow",
                "Action": [
                    "ec2:AuthorizeSecurityGroupIngress",
                    "ec2:RevokeSecurityGroupIngress",
                ],
                "Resource": f"arn:aws:ec2:{region}:*:security-group/*",
            },
            {
                "Sid": "CreateSecurityGroups",
                "Effect": "Allow",
                "Action": "ec2:CreateSecurityGroup",
                "Resource": "*",
            },
            {
                "Sid": "TagSecurityGroupsItCreates",
                "Effect": "Allow",
                "Action": "ec2:CreateTags",
                "Resource": "arn:aws:ec2:*:*:security-group/*",
                "Condition": {
                    "StringEquals": {"ec2:CreateAction": "CreateSecurityGroup"},
                    **created_here,
                },
            },
            {
                "Sid": "ManageItsSecurityGroups",
                "Effect": "Allow",
                "Action": [
                    "ec2:CreateTags",
                    "ec2:DeleteTags",
                    "ec2:AuthorizeSecurityGroupIngress",
                    "ec2:RevokeSecurityGroupIngress",
                    "ec2:DeleteSecurityGroup",
                ],
                "Resource": "arn:aws:ec2:*:*:security-group/*",
                "Condition": managed,
            },
            {
                "Sid": "CreateLoadBalancersAndTargetGroups",
                "Effect": "Allow",
                "Action": [
                    "elasticloadbalancing:CreateLoadBalancer",
                    "elasticloadbalancing:CreateTargetGroup",
                ],
                "Resource": "*",
                "Condition": created_here,
            },
            {
                "Sid": "ManageListenersAndRules",
                "Effect": "Allow",
                "Action": [
                    "elasticloadbalancing:CreateListener",
                    "elasticloadbalancing:DeleteListener",
                    "elasticloadbalancing:CreateRule",
                    "elasticloadbalancing:DeleteRule",
                ],
                "Resource": "*",
            },
            {
                "Sid": "TagWhatItCreates",
                "Effect": "Allow",
                "Action": ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"],
                "Resource": balancers_and_groups,
                "Condition": {
                    "Null": {
                        "aws:RequestTag/elbv2.k8s.aws/cluster": "true",
                        "aws:ResourceTag/elbv2.k8s.aws/cluster": "false",
                    }
                },
            },
            {
                "Sid": "TagListenersAndRules",
                "Effect": "Allow",
                "Action": ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"],
                "Resource": [
                    f"{elb}:listener/net/*/*/*",
                    f"{elb}:listener/app/*/*/*",
                    f"{elb}:listener-rule/net/*/*/*",
                    f"{elb}:listener-rule/app/*/*/*",
                ],
            },
            {
                "Sid": "ModifyItsLoadBalancersAndTargetGroups",
                "Effect": "Allow",
                "Action": [
                    "elasticloadbalancing:ModifyLoadBalancerAttributes",
                    "elasticloadbalancing:SetIpAddressType",
                    "elasticloadbalancing:SetSecurityGroups",
                    "elasticloadbalancing:SetSubnets",
                    "elasticloadbalancing:DeleteLoadBalancer",
                    "elasticloadbalancing:ModifyTargetGroup",
                    "elasticloadbalancing:ModifyTargetGroupAttributes",
                    "elasticloadbalancing:DeleteTargetGroup",
                    "elasticloadbalancing:ModifyListenerAttributes",
                    "elasticloadbalancing:ModifyCapacityReservation",
                    "elasticloadbalancing:ModifyIpPools",
                ],
                "Resource": "*",
                "Condition": managed,
            },
            {
                "Sid": "TagOnCreate",
                "Effect": "Allow",
                "Action": "elasticloadbalancing:AddTags",
                "Resource": balancers_and_groups,
                "Condition": {
                    "StringEquals": {
                        "elasticloadbalancing:CreateAction": [
                            "CreateTargetGroup",
                            "CreateLoadBalancer",
                        ]
                    },
                    **created_here,
                },
            },
            {
                "Sid": "RegisterTargets",
                "Effect": "Allow",
                "Action": [
                    "elasticloadbalancing:RegisterTargets",
                    "elasticloadbalancing:DeregisterTargets",
                ],
                "Resource": f"{elb}:targetgroup/*/*",
            },
            {
                "Sid": "ManageListenerDetails",
                "Effect": "Allow",
                "Action": [
                    "elasticloadbalancing:SetWebAcl",
                    "elasticloadbalancing:ModifyListener",
                    "elasticloadbalancing:AddListenerCertificates",
                    "elasticloadbalancing:RemoveListenerCertificates",
                    "elasticloadbalancing:ModifyRule",
                    "elasticloadbalancing:SetRulePriorities",
                ],
                "Resource": "*",
            },
        ]
    )
