"""An environment's access to the shared Aurora cluster: its schema and role names (the
API's and the GPU workers'), a generated password for each, and the JSON secrets the
app reads (DATABASE_URL and friends)."""

import pulumi
import pulumi_aws as aws

from components.data.database_access import DatabaseAccess, DatabaseAccessArgs

# Your Aurora cluster's (the aurora example's outputs).
WRITER = "pingvas-example.cluster-abc123.us-east-1.rds.amazonaws.com"
READER = "pingvas-example.cluster-ro-abc123.us-east-1.rds.amazonaws.com"

aws_provider = aws.Provider("aws", region="us-east-1")
access = DatabaseAccess(
    "example",
    DatabaseAccessArgs(
        environment="staging",
        secret_name="pingvas-staging-database",  # noqa: S106 (a name, not a secret)
        worker_secret_name="pingvas-staging-database-worker",  # noqa: S106 (a name)
        writer_endpoint=WRITER,
        reader_endpoint=READER,
        port=5432,
        database_name="pingvas_saas",
    ),
    opts=pulumi.ResourceOptions(providers=[aws_provider]),
)
pulumi.export("schema", access.schema)
pulumi.export("secretArn", access.secret_arn)
pulumi.export("workerSecretArn", access.worker_secret_arn)
