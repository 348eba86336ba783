"""An environment's ALB ingress class: one internet-facing ALB for every Ingress of the
`staging` namespace (by its name label), with its certificate, the WAF ACL, TLS 1.2+ and
access logs."""

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.edge.ingress_class import AlbIngressClass, IngressClassArgs

# Yours: the certificate and WAF examples' outputs, and the platform's logs bucket.
CERTIFICATE_ARN = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-example"
WAF_ACL_ARN = "arn:aws:wafv2:us-east-1:123456789012:regional/webacl/pingvas-example/0a1b2c3d"
LOGS_BUCKET = "pingvas-example-logs-0123"

aws_provider = aws.Provider("aws", region="us-east-1")
kubernetes = k8s.Provider("cluster")  # the current kubectl context
AlbIngressClass(
    "example",
    IngressClassArgs(
        class_name="pingvas-staging-alb",
        group_name="pingvas-staging",
        namespace_labels={"kubernetes.io/metadata.name": "staging"},
        certificate_arn=CERTIFICATE_ARN,
        waf_acl_arn=WAF_ACL_ARN,
        logs_bucket_name=LOGS_BUCKET,
    ),
    opts=pulumi.ResourceOptions(providers=[aws_provider, kubernetes]),
)
pulumi.export("ingressClass", "pingvas-staging-alb")
