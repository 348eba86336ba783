"""PostgreSQL in a preview's namespace: one TLS-only pod on a small volume, its
superuser's credentials in a Secrets Manager secret shaped like Aurora's master secret."""

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.data.postgres import InClusterPostgres, InClusterPostgresArgs

NAMESPACE = "pr-42"  # the preview's (the tenancy example makes one)

aws_provider = aws.Provider("aws", region="us-east-1")
kubernetes = k8s.Provider("cluster")  # the current kubectl context
postgres = InClusterPostgres(
    "example",
    InClusterPostgresArgs(
        namespace=NAMESPACE,
        database_name="pingvas_saas",
        master_secret_name="pingvas-pr-42-postgres",  # noqa: S106 (a name, not a secret)
    ),
    opts=pulumi.ResourceOptions(providers=[aws_provider, kubernetes]),
)
pulumi.export("host", postgres.host)
pulumi.export("masterSecretArn", postgres.master_secret_arn)
