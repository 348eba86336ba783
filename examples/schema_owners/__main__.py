"""A schema owner per long-lived environment in the shared Aurora database: a generated
password in a platform secret the environment's migrations may read, and a bootstrap Job
that creates the role and its schema with the master credentials, which stay here."""

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.data.schema_owners import SchemaOwners, SchemaOwnersArgs

# Your Aurora cluster's and External Secrets controller's (the platform's outputs).
WRITER = "pingvas-example.cluster-abc123.us-east-1.rds.amazonaws.com"
MASTER = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!cluster-0a1b2c3d-AbCdEf"
CONTROLLER_ROLE_ARN = "arn:aws:iam::123456789012:role/pingvas-example-external-secrets"

aws_provider = aws.Provider("aws", region="us-east-1")
kubernetes = k8s.Provider("cluster")  # the current kubectl context
owners = SchemaOwners(
    "example",
    SchemaOwnersArgs(
        environments=["staging", "prod"],
        secret_name_prefix="pingvas-example",  # noqa: S106 (a name, not a secret)
        database_name="pingvas_saas",
        writer_endpoint=WRITER,
        port=5432,
        master_secret_arn=MASTER,
        region="us-east-1",
        secret_store_controller_role_arn=CONTROLLER_ROLE_ARN,
    ),
    opts=pulumi.ResourceOptions(providers=[aws_provider, kubernetes]),
)
pulumi.export("ownerSecretArns", owners.secret_arns)
