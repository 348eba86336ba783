"""An ALB IngressClass: every Ingress of the class joins one ingress group, so its
services share one internet-facing ALB with the platform's WAF ACL, the class's
certificate, TLS 1.2+ and HTTP→HTTPS redirect, and access logs. One per environment
(dev, prod), and one on the platform that every pr-<N> namespace shares."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components import immutable

# TLS 1.3 and 1.2 only, forward-secret ciphers.
SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
# Where in the logs bucket the ALBs write (the bucket grants ELB exactly this).
ALB_ACCESS_LOG_PREFIX = "alb/"


@dataclass
class IngressClassArgs:
    class_name: str
    group_name: str
    # Only Ingresses in namespaces with these labels may use the class.
    namespace_labels: Mapping[str, str]
    certificate_arn: pulumi.Input[str]
    waf_acl_arn: pulumi.Input[str]
    logs_bucket_name: pulumi.Input[str]
    deletion_protection: bool = False
    # What installs IngressClassParams (the AWS Load Balancer Controller), when this
    # stack installs it: a component's children do not wait for the component's own
    # `depends_on`.
    depends_on: Sequence[pulumi.Resource] = ()


class AlbIngressClass(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: IngressClassArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pingvas:edge:IngressClass", name, None, opts)
        on_cluster = pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on))
        attributes = {
            "access_logs.s3.enabled": "true",
            "access_logs.s3.bucket": args.logs_bucket_name,
            "access_logs.s3.prefix": f"{ALB_ACCESS_LOG_PREFIX}{args.group_name}",
            "routing.http.drop_invalid_header_fields.enabled": "true",
            "deletion_protection.enabled": str(args.deletion_protection).lower(),
        }
        parameters = k8s.apiextensions.CustomResource(
            f"{name}-params",
            api_version="elbv2.k8s.aws/v1beta1",
            kind="IngressClassParams",
            metadata={"name": args.class_name},
            spec={
                "group": {"name": args.group_name},
                "namespaceSelector": {"matchLabels": dict(args.namespace_labels)},
                "scheme": "internet-facing",
                "ipAddressType": "ipv4",
                "targetType": "ip",
                "certificateArn": [args.certificate_arn],
                "sslPolicy": SSL_POLICY,
                "sslRedirectPort": "443",
                "wafv2AclArn": args.waf_acl_arn,
                "listeners": [
                    {"protocol": "HTTP", "port": 80},
                    {"protocol": "HTTPS", "port": 443},
                ],
                "loadBalancerAttributes": [
                    {"key": key, "value": value} for key, value in attributes.items()
                ],
            },
            opts=on_cluster,
        )
        k8s.networking.v1.IngressClass(
            f"{name}-class",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=args.class_name),
            spec=k8s.networking.v1.IngressClassSpecArgs(
                controller="ingress.k8s.aws/alb",
                parameters=k8s.networking.v1.IngressClassParametersReferenceArgs(
                    api_group="elbv2.k8s.aws", kind="IngressClassParams", name=args.class_name
                ),
            ),
            opts=pulumi.ResourceOptions.merge(
                pulumi.ResourceOptions(parent=self, depends_on=[parameters]),
                immutable.replaced_on(immutable.INGRESS_CLASS),
            ),
        )
        self.register_outputs({})
