"""Cluster add-ons installed with Helm (versions in `chart_versions`): the NVIDIA device
plugin and DCGM exporter on GPU nodes, the AWS Load Balancer Controller, KEDA and
metrics-server on the system nodes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import chart_versions
from components.chart_versions import Chart
from components.cluster.secret_store import STORE_ROLE_MARKER
from components.conventions import GPU_LABEL, GPU_TOLERATION, SYSTEM_LABEL
from components.iam import (
    PodIdentityBinding,
    account_id,
    arn,
    bind_service_account,
    partition,
    pod_identity_role,
    policy_document,
)

# Only GPU nodes: the device plugin and exporter have nothing to do elsewhere. (The
# device plugin's default affinity also wants `nvidia.com/gpu.present`, which the GPU
# NodePool sets, as we run no Node Feature Discovery.)
ON_GPU_NODES = {"nodeSelector": GPU_LABEL, "tolerations": [GPU_TOLERATION]}
LOAD_BALANCER_CONTROLLER_SA = "aws-load-balancer-controller"
EXTERNAL_SECRETS_SA = "external-secrets"


@dataclass
class ClusterAddonsArgs:
    cluster_name: str
    region: str
    vpc_id: pulumi.Input[str]
    # The platform's namespaces (components/cluster/platform_namespaces.py) by name.
    namespaces: Mapping[str, k8s.core.v1.Namespace]
    # The stack's tags for the load balancers, target groups and security groups the
    # load balancer controller creates (provider default_tags do not reach them).
    resource_tags: Mapping[str, str]
    depends_on: Sequence[pulumi.Resource] = ()


class ClusterAddons(pulumi.ComponentResource):
    # What every namespace's SecretStore role trusts (components/cluster/secret_store.py).
    external_secrets_role_arn: pulumi.Output[str]
    # The release that installs External Secrets' CRDs and its fail-closed webhook: what
    # every SecretStore and ExternalSecret waits for.
    external_secrets: k8s.helm.v3.Release

    def __init__(
        self, name: str, args: ClusterAddonsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pingvas:cluster:Addons", name, None, opts)
        self._name = name
        self._args = args
        self._partition = partition(self)

        self._release(
            "nvidia-device-plugin", chart_versions.NVIDIA_DEVICE_PLUGIN, "kube-system", ON_GPU_NODES
        )
        self._release(
            "dcgm-exporter",
            chart_versions.DCGM_EXPORTER,
            "kube-system",
            {**ON_GPU_NODES, "serviceMonitor": {"enabled": False}},
        )
        binding = PodIdentityBinding(
            cluster_name=args.cluster_name,
            region=args.region,
            namespace="kube-system",
            service_account=LOAD_BALANCER_CONTROLLER_SA,
        )
        role = pod_identity_role(
            f"{name}-load-balancer-controller",
            binding=binding,
            policy=load_balancer_controller_policy(
                self._partition, args.region, account_id(self), args.vpc_id
            ),
            parent=self,
        )
        association = bind_service_account(
            f"{name}-load-balancer-controller",
            role,
            binding=binding,
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
                "defaultTags": dict(args.resource_tags),
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
        )
        self.external_secrets_role_arn = self._external_secrets()
        self._release(
            "metrics-server",
            chart_versions.METRICS_SERVER,
            "kube-system",
            {"nodeSelector": SYSTEM_LABEL, "replicas": 2},
        )
        self.register_outputs({"external_secrets_role_arn": self.external_secrets_role_arn})

    def _external_secrets(self) -> pulumi.Output[str]:
        """External Secrets Operator. Its own role reads no secret: it may only assume the
        namespaces' store roles (components/cluster/secret_store.py); there is no cluster-wide
        store."""
        args = self._args
        binding = PodIdentityBinding(
            cluster_name=args.cluster_name,
            region=args.region,
            namespace="external-secrets",
            service_account=EXTERNAL_SECRETS_SA,
        )
        role = pod_identity_role(
            f"{self._name}-external-secrets",
            binding=binding,
            policy=policy_document(
                [
                    {
                        "Effect": "Allow",
                        "Action": "sts:AssumeRole",
                        "Resource": arn(
                            self._partition,
                            "iam",
                            f"role/pingvas-*-{STORE_ROLE_MARKER}-*",
                            account=account_id(self),
                        ),
                    }
                ]
            ),
            parent=self,
        )
        association = bind_service_account(
            f"{self._name}-external-secrets",
            role,
            binding=binding,
            parent=self,
            depends_on=args.depends_on,
        )
        self.external_secrets = self._release(
            "external-secrets",
            chart_versions.EXTERNAL_SECRETS,
            "external-secrets",
            {
                "installCRDs": True,
                "serviceAccount": {"create": True, "name": EXTERNAL_SECRETS_SA},
                "nodeSelector": SYSTEM_LABEL,
                "webhook": {"nodeSelector": SYSTEM_LABEL},
                "certController": {"nodeSelector": SYSTEM_LABEL},
                # Namespaced SecretStores only: a ClusterSecretStore would be a door for
                # every namespace.
                "processClusterStore": False,
            },
            extra_depends_on=[association],
        )
        return role.arn

    def _release(
        self,
        release_name: str,
        chart: Chart,
        namespace: str,
        values: dict[str, Any],
        *,
        extra_depends_on: Sequence[pulumi.Resource] = (),
    ) -> k8s.helm.v3.Release:
        return k8s.helm.v3.Release(
            f"{self._name}-{release_name}",
            name=release_name,
            chart=chart.name,
            version=chart.version,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=chart.repository),
            namespace=namespace,
            values=values,
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[
                    *self._args.depends_on,
                    *extra_depends_on,
                    *(
                        [self._args.namespaces[namespace]]
                        if namespace in self._args.namespaces
                        else []
                    ),
                ],
            ),
        )


def load_balancer_controller_policy(
    partition: pulumi.Input[str], region: str, account: pulumi.Input[str], vpc_id: pulumi.Input[str]
) -> pulumi.Output[str]:
    """What the controller needs to run ALBs and NLBs for Ingresses and Services: the
    upstream policy (v2.13) with its tag conditions, and no unconditioned write on `*`.

    Writes are limited to load balancers, target groups and security groups carrying the
    controller's `elbv2.k8s.aws/cluster` tag, which it sets on everything it creates, and
    to security groups in the platform's VPC.
    """
    managed = {"Null": {"aws:ResourceTag/elbv2.k8s.aws/cluster": "false"}}
    vpc = arn(
        partition, "ec2", pulumi.Output.concat("vpc/", vpc_id), region=region, account=account
    )
    in_vpc = {"ArnEquals": {"ec2:Vpc": vpc}}
    created_here = {"Null": {"aws:RequestTag/elbv2.k8s.aws/cluster": "false"}}

    def elb(resource: str) -> pulumi.Output[str]:
        return arn(partition, "elasticloadbalancing", resource, region=region, account="*")

    balancers_and_groups = [
        elb("targetgroup/*/*"),
        elb("loadbalancer/net/*/*"),
        elb("loadbalancer/app/*/*"),
    ]
    listeners_and_rules = [
        elb("listener/net/*/*/*"),
        elb("listener/app/*/*/*"),
        elb("listener-rule/net/*/*/*"),
        elb("listener-rule/app/*/*/*"),
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
                    "wafv2:GetWebACL",
                    "wafv2:GetWebACLForResource",
                    "shield:GetSubscriptionState",
                    "shield:DescribeProtection",
                ],
                "Resource": "*",
            },
            {
                # Attach the platform's web ACL to its own load balancers. (No Shield
                # Advanced protections: no Ingress asks for them.)
                "Sid": "ProtectItsLoadBalancers",
                "Effect": "Allow",
                "Action": ["wafv2:AssociateWebACL", "wafv2:DisassociateWebACL"],
                "Resource": [
                    arn(partition, "wafv2", "regional/webacl/*/*", region=region, account="*"),
                    elb("loadbalancer/app/*/*"),
                ],
            },
            {
                # The controller opens the nodes' groups to its load balancers' group.
                "Sid": "OpenBackendSecurityGroups",
                "Effect": "Allow",
                "Action": [
                    "ec2:AuthorizeSecurityGroupIngress",
                    "ec2:RevokeSecurityGroupIngress",
                ],
                "Resource": arn(partition, "ec2", "security-group/*", region=region, account="*"),
                "Condition": in_vpc,
            },
            {
                "Sid": "CreateSecurityGroupsInTheVpc",
                "Effect": "Allow",
                "Action": "ec2:CreateSecurityGroup",
                "Resource": vpc,
            },
            {
                "Sid": "CreateTaggedSecurityGroups",
                "Effect": "Allow",
                "Action": "ec2:CreateSecurityGroup",
                "Resource": arn(partition, "ec2", "security-group/*", region=region, account="*"),
                "Condition": created_here,
            },
            {
                "Sid": "TagSecurityGroupsItCreates",
                "Effect": "Allow",
                "Action": "ec2:CreateTags",
                "Resource": arn(partition, "ec2", "security-group/*", region="*", account="*"),
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
                "Resource": arn(partition, "ec2", "security-group/*", region="*", account="*"),
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
                "Resource": [*balancers_and_groups, *listeners_and_rules],
                "Condition": managed,
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
                "Resource": listeners_and_rules,
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
                "Resource": elb("targetgroup/*/*"),
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
                "Resource": [*balancers_and_groups, *listeners_and_rules],
                "Condition": managed,
            },
        ]
    )
