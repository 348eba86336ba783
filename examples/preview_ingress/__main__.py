"""The ALB that every preview (`pr-<N>`) stack shares: its ingress class and group, a
wildcard certificate for `*.pr.<domain>`, the WAF ACL and access logs."""

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.edge.preview_ingress import PreviewIngress, PreviewIngressArgs

# Yours: the hosted zone of the domain, the WAF example's ACL, the platform's logs bucket.
ZONE_ID = "Z0123456789EXAMPLE"
WAF_ACL_ARN = "arn:aws:wafv2:us-east-1:123456789012:regional/webacl/pingvas-example/0a1b2c3d"
LOGS_BUCKET = "pingvas-example-logs-0123"

aws_provider = aws.Provider("aws", region="us-east-1")
kubernetes = k8s.Provider("cluster")  # the current kubectl context
ingress = PreviewIngress(
    "example",
    PreviewIngressArgs(
        domain="example.com",
        zone_id=ZONE_ID,
        class_name="pingvas-previews",
        group_name="pingvas-previews",
        waf_acl_arn=WAF_ACL_ARN,
        logs_bucket_name=LOGS_BUCKET,
    ),
    opts=pulumi.ResourceOptions(providers=[aws_provider, kubernetes]),
)
pulumi.export("certificateArn", ingress.certificate_arn)
