"""Fluent Bit on every node, GPU nodes included: each pod's log lines to CloudWatch Logs
(kept 30 days) and, gzipped, to the logs bucket under `pods/`."""

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.operations.log_shipping import LogShipping, LogShippingArgs

# Your cluster's and platform's; Kubernetes objects go through the current kubectl context.
CLUSTER_NAME = "pingvas-example"
LOGS_BUCKET = "pingvas-example-logs-0123"

aws_provider = aws.Provider("aws", region="us-east-1")
kubernetes = k8s.Provider("cluster")
shipping = LogShipping(
    "example",
    LogShippingArgs(
        cluster_name=CLUSTER_NAME,
        namespace="monitoring",
        region="us-east-1",
        log_group_name="/pingvas/example/pods",
        retention_days=30,
        logs_bucket_name=LOGS_BUCKET,
        tolerations=[{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
    ),
    opts=pulumi.ResourceOptions(providers=[aws_provider, kubernetes]),
)
pulumi.export("logGroupName", shipping.log_group_name)
