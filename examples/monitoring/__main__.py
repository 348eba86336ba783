"""The monitoring stack in `monitoring`: kube-prometheus-stack scraping every 15 s and
keeping 15 days, the alert rules routed to Slack and the operations topic, Grafana with
its CloudWatch data source and dashboards, and the network policies around it."""

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.operations.monitoring import Monitoring, MonitoringArgs

# Your cluster's and the notifications example's; Kubernetes objects go through the
# current kubectl context.
CLUSTER_NAME = "pingvas-example"
TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:pingvas-example-operations"
EXTERNAL_SECRETS_ROLE_ARN = "arn:aws:iam::123456789012:role/pingvas-example-external-secrets"
TOPIC_KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-0a1b-0a1b-0a1b-0a1b2c3d4e5f"

aws_provider = aws.Provider("aws", region="us-east-1")
kubernetes = k8s.Provider("cluster")
monitoring = Monitoring(
    "example",
    MonitoringArgs(
        cluster_name=CLUSTER_NAME,
        region="us-east-1",
        vpc_cidr="10.0.0.0/16",
        namespace="monitoring",
        scrape_interval_seconds=15,
        retention_days=15,
        storage_gi=50,
        storage_class="gp3",
        slack_channel="#pingvas-alerts",
        sns_topic_arn=TOPIC_ARN,
        sns_key_arn=TOPIC_KEY_ARN,
        # JSON with the Slack webhook and the SNS receiver's keys, made by you.
        external_secrets_role_arn=EXTERNAL_SECRETS_ROLE_ARN,
        receivers_secret_name="pingvas-example-alert-receivers",  # noqa: S106 (a name)
        platform_namespaces=["monitoring", "kube-system"],
    ),
    opts=pulumi.ResourceOptions(providers=[aws_provider, kubernetes]),
)
pulumi.export("namespace", "monitoring")
